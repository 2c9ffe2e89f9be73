"""附件4 大中小企业融通创新项目中小企业“揭榜”申请书 — one per 拟揭榜事项 of the 对接表."""

from __future__ import annotations

from typing import Any

from bot.dialogs import validators as v
from bot.dialogs.fields import Choice, Field, Form
from bot.i18n import N_

S1 = N_("一、中小企业基本情况简介")
S2 = N_("二、中小企业技术创新能力情况")
S3 = N_("三、针对揭榜需求拟采取的技术攻关方案")
S4 = N_("四、希望采取的合作方式")
EVIDENCE = N_("佐证材料")


def _section(key: str, label: str, guidance: str, section: str, **kw: Any) -> Field:
    return Field(key, label, N_("可分几条消息发送，写完回复“完成”"), validate=v.long_text(6000), long_text=True,
                 max_chars=6000, guidance=guidance, section=section, **kw)


FORM = Form(
    id="application",
    title=N_("大中小企业融通创新项目中小企业“揭榜”申请书"),
    short_title=N_("申请书"),
    audiences=("sme",),
    per_item="sme_match.items",
    text_guideline=6000,
    filename="揭榜申请书-{item_name}-{company_name}.docx",
    renderer="bot.documents.application:render",
    notes=(N_("注：申请书篇幅不宜过长，原则上不超过 6000 字，重点讲述攻关方案；同时请随附技术创新能力佐证材料，"
              "如相关专利、软著、标准、认证、奖项荣誉等。"),),
    items=(
        Field("company_name", N_("企业名称"), N_("与营业执照一致"), validate=v.text(100), section=S1, profile=True),
        Field("item_name", N_("“揭榜”事项名称"), N_("来自对接表的拟揭榜事项"), validate=v.text(100), section=S1),
        Field("not_affiliated", N_("关联关系声明"),
              N_("“揭榜”中小企业不得是“发榜”大企业的子公司、控股公司、供应商等关联企业"), section=S1,
              choices=(Choice(N_("非关联企业"), N_("确认：本企业不是发榜大企业的子公司、控股公司、供应商等关联企业")),)),
        # Sections 一 and 二 are the firm's own: offered again in its next 申请书 (一 also from the 企业概况).
        _section("basic", S1, N_("包括主营业务、运营情况、在行业的地位等。"), S1, profile="application_basic",
                 offer=("overview",)),
        _section("capability", S2, N_("企业研发团队、技术创新成果、标准制定、产品销售等情况。"), S2,
                 profile="application_capability"),
        _section("plan_team", N_("（一）攻关团队情况"), N_("团队成员曾主持或参与的项目"), S3),
        _section("plan_goals", N_("（二）预期目标"), N_("包括指标数值、测试场景及评价方式等"), S3),
        _section("plan_route", N_("（三）拟选择的技术路线"), "", S3),
        _section("plan_schedule", N_("（四）时间进度安排"), N_("阶段性任务"), S3),
        _section("plan_risks", N_("（五）潜在问题及应对举措"), "", S3),
        _section("cooperation", S4, N_("提出希望以何种方式与“发榜”大企业进行合作。"), S4),
        Field("evidence", EVIDENCE, N_("逐条发送专利、软著、标准、认证、奖项等（可发文件）；没有或发完回复“完成”"),
              long_text="list", section=EVIDENCE, optional=True),
    ),
)
