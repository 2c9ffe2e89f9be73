"""The journey on WeChat (issue 14: "the terminal and WeChat both"): a long section half written survives
上一步 and comes back, 完成 as a phone keyboard types it closes it, an edit after printing is said."""

from __future__ import annotations

from tests.adapters.test_wechat_channel import ANSWERS, WxUser, question_of, rig


async def test_on_wechat_a_half_written_overview_survives_back_and_done_with_a_full_stop_closes_it(tmp_path):
    async with rig(tmp_path, pdf=False) as r:
        u = WxUser(r)
        await u.open_form()
        try:
            await u.fill(ANSWERS, on={"企业概况": _stop})  # up to 企业概况: the test writes it itself
        except _Stop:
            pass
        assert question_of(u.last).startswith("企业概况")
        await u.say("第一段：公司做工业软件。")
        back = await u.say("上一步")
        assert "存为草稿" in back and question_of(back).startswith("邮编")
        await u.say("200120")
        again = u.last
        assert question_of(again).startswith("企业概况") and "草稿已保存" in again
        await u.say("第二段：有发明专利12项。")
        saved = await u.say("完成。")
        assert saved.startswith("✓ 已保存：企业概况") and "第一段" in saved


async def test_on_wechat_an_edit_after_printing_is_said_and_the_form_asks_to_be_confirmed_again(tmp_path):
    async with rig(tmp_path, pdf=False) as r:
        u = WxUser(r)
        await u.open_form()
        await u.fill(ANSWERS)
        await u.say("1")  # 确认并生成文件
        await u.say("修改")
        edit = u.last
        n = next(line.split(".")[0] for line in edit.splitlines() if "企业名称：" in line)
        await u.say(n)
        changed = await u.say("上海改名科技有限公司")
        assert "已生成的表格与现在的答案不同了" in changed


async def _stop(user) -> None:
    raise _Stop()


class _Stop(Exception):
    pass
