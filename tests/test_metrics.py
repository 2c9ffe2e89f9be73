"""bot/metrics.py: one registry per app, and the hooks the WeChat channel and the renderer will call."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics


def _value(m: Metrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_two_apps_in_one_process_count_apart():
    a, b = Metrics(), Metrics()  # each with the process collectors: no "duplicated timeseries" between them
    a.answered("telegram", 0.004)
    assert _value(a, "jiebang_answers_total", channel="telegram") == 1
    assert _value(b, "jiebang_answers_total", channel="telegram") is None
    assert _value(a, "jiebang_answer_seconds_bucket", channel="telegram", le="0.005") == 1
    assert _value(a, "jiebang_answer_seconds_bucket", channel="telegram", le="0.0025") == 0


def test_the_hooks_count_what_they_say():
    m = Metrics(process=False)
    m.wechat_passive_reply("wechat", sent=True)
    m.wechat_passive_reply("wechat", sent=False)
    m.wechat_customer_service("wecom")
    m.wechat_customer_service("wecom", errcode=45015)
    with m.rendering():
        assert _value(m, "jiebang_render_queue_depth") == 1
    assert _value(m, "jiebang_render_queue_depth") == 0
    m.render_job(0.07)
    assert [_value(m, "jiebang_wechat_passive_replies_total", channel="wechat", outcome=o)
            for o in ("sent", "missed")] == [1, 1]
    assert _value(m, "jiebang_wechat_customer_service_messages_total", channel="wecom") == 2
    assert _value(m, "jiebang_wechat_customer_service_errors_total", channel="wecom", errcode="45015") == 1
    assert _value(m, "jiebang_render_job_seconds_count") == 2


def test_the_exposition_is_prometheus_text_and_openmetrics_when_asked():
    m = Metrics(process=False)
    m.login_refused("bad")
    body, content_type = m.exposition()
    assert content_type.startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(body.decode())}
    assert {"jiebang_answers", "jiebang_answer_seconds", "jiebang_reminders", "jiebang_console_logins_refused",
            "jiebang_render_queue_depth"} <= names
    body, content_type = m.exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text") and body.rstrip().endswith(b"# EOF")


async def test_a_confirmed_forms_files_are_counted_while_awaited_and_timed(app):
    """jiebang_render_queue_depth goes back to 0 once the files are there; each form's files are timed
    once (the review makes them ahead, the confirm takes them: one job, whichever process or worker)."""
    from bot.testing import ChatClient
    from tests.conftest import SME_STEPS, past_start

    def seen(name: str) -> float:
        return app.metrics.registry.get_sample_value(name) or 0.0

    c = ChatClient(app.engine)
    await c.send("/start")
    await c.click("中小企业")
    await c.click("对接表")
    await past_start(c)
    await c.fill(SME_STEPS)
    assert c.last.screen == "review"
    done = await c.click("确认并生成文件")
    assert any(r.all_documents() for r in done)
    assert seen("jiebang_render_job_seconds_count") == 1
    assert seen("jiebang_render_queue_depth") == 0
