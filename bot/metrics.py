"""What an operator's monitoring counts: one `Metrics` per app, its own Prometheus registry.

The engine makes one (`Engine.metrics`; `App.metrics` is the same object) and the parts that count take
it from there: the engine (answers and their latency, per channel), the reminders (sent, queued, failed),
the console (logins refused). `serve` shows the registry at `/metrics` when it is configured to
(`JIEBANG_METRICS_TOKEN`, or `JIEBANG_METRICS_PORT`: bot/probes.py).

Counting touches memory only: no statement, no I/O, so the engine's one-read-one-commit path is unchanged.
A registry of its own (never prometheus_client's global one) keeps two apps in one process, as in the
tests, from counting into each other.

Counted where the thing happens:

- `wechat_passive_reply(channel, sent)` (bot/adapters/wechat/callbacks.py): a reply in the HTTP response to
  WeChat's callback (sent), or one that missed WeChat's 5 s and went through the API instead (missed);
- `wechat_customer_service(channel, errcode)` (bot/adapters/wechat/delivery.py): a 客服消息 (WeCom: an app
  message) sent; errcode ≠ 0 is also counted as an error, by WeChat's errcode;
- `rendering()` (bot/documents/produce.py, around each form's files: made here or by a render worker):
  `render_queue_depth` while they are awaited, `render_job_seconds` when they are there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# One message, end to end in the engine: 1 ms (a word answered from memory) to 10 s (a database retried).
ANSWER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# One document: ~60 ms for a .docx, seconds for a PDF, 60 s the renderer's own limit.
RENDER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REMINDER_OUTCOMES = ("sent", "queued", "failed")
LOGIN_REFUSALS = ("bad", "limited")


class Metrics:
    """The app's metrics. Labels are channel names, outcomes and reasons: a few values each, never a user."""

    def __init__(self, registry: CollectorRegistry | None = None, *, process: bool = True) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        if process:  # the process's memory, CPU, open files; Python's version and collections
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self.answers = Counter("jiebang_answers", "Messages the engine answered, by channel.",
                               ["channel"], registry=r)
        self.answer_seconds = Histogram("jiebang_answer_seconds",
                                        "Time from a message reaching the engine to its replies, by channel.",
                                        ["channel"], buckets=ANSWER_BUCKETS, registry=r)
        self.reminders = Counter("jiebang_reminders",
                                 "Reminders and notices delivered: sent by the channel, queued for the user's next "
                                 "message, or failed (tried again after the lease).",
                                 ["channel", "outcome"], registry=r)
        self.console_logins_refused = Counter("jiebang_console_logins_refused",
                                              "Console logins refused: bad (wrong name or password), limited "
                                              "(too many failures).", ["reason"], registry=r)
        # WeChat (bot/adapters/wechat/callbacks.py, delivery.py) and the forms' files (bot/documents/produce.py)
        self.wechat_passive_replies = Counter("jiebang_wechat_passive_replies",
                                              "Replies to a WeChat callback: sent in the HTTP response, or missed "
                                              "(too late for it).", ["channel", "outcome"], registry=r)
        self.wechat_customer_service_messages = Counter("jiebang_wechat_customer_service_messages",
                                                        "Customer-service (客服) messages sent to WeChat, answered "
                                                        "or not.", ["channel"], registry=r)
        self.wechat_customer_service_errors = Counter("jiebang_wechat_customer_service_errors",
                                                      "Customer-service messages WeChat refused, by its errcode.",
                                                      ["channel", "errcode"], registry=r)
        self.render_queue_depth = Gauge("jiebang_render_queue_depth",
                                        "Forms' files this process asked for (a review, a confirm) and has not "
                                        "got yet: being made here or waiting for a render worker.", registry=r)
        self.render_job_seconds = Histogram("jiebang_render_job_seconds",
                                            "From asking for a form's files to having them (.docx, and the PDF "
                                            "and page 1 where they are made), here or by a render worker.",
                                            buckets=RENDER_BUCKETS, registry=r)

    # -- counted now --------------------------------------------------------------------------------------

    def answered(self, channel: str, seconds: float) -> None:
        self.answers.labels(channel).inc()
        self.answer_seconds.labels(channel).observe(seconds)

    def reminder(self, channel: str, outcome: str) -> None:
        """`outcome`: sent, queued or failed."""
        self.reminders.labels(channel, outcome).inc()

    def login_refused(self, reason: str) -> None:
        """`reason`: bad or limited (bot/console/auth.py LoginResult.problem)."""
        self.console_logins_refused.labels(reason).inc()

    # -- WeChat, the forms' files ---------------------------------------------------------------------------

    def wechat_passive_reply(self, channel: str, sent: bool) -> None:
        self.wechat_passive_replies.labels(channel, "sent" if sent else "missed").inc()

    def wechat_customer_service(self, channel: str, errcode: int = 0) -> None:
        self.wechat_customer_service_messages.labels(channel).inc()
        if errcode:
            self.wechat_customer_service_errors.labels(channel, str(errcode)).inc()

    def render_job(self, seconds: float) -> None:
        self.render_job_seconds.observe(seconds)

    @contextmanager
    def rendering(self) -> Iterator[None]:
        """`with metrics.rendering(): …` around one document: in the queue while it runs, its time observed."""
        self.render_queue_depth.inc()
        started = time.perf_counter()
        try:
            yield
        finally:
            self.render_queue_depth.dec()
            self.render_job(time.perf_counter() - started)

    # -- exposition -------------------------------------------------------------------------------------

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """(body, content type) in the text format the `Accept` header asks for (Prometheus' by default)."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type
