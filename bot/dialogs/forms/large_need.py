"""附件2 大企业技术创新需求表 — the form as data. Labels are the form's own words, verbatim."""

from __future__ import annotations

from bot.dialogs import validators as v
from bot.dialogs.fields import Choice, Field, Form, Group, Rule
from bot.i18n import N_

BASIC = N_("一、企业基本情况")
NEEDS = N_("二、技术创新需求")

FORM = Form(
    id="large_need",
    title=N_("大企业技术创新需求表"),
    short_title=N_("需求表"),
    audiences=("large",),
    filename="大企业技术创新需求表-{company_name}.docx",
    renderer="bot.documents.large_need:render",
    notes=(N_("注：1. 所有需求均不得涉密。"),
           N_("2. 公开企业名称有利于吸引更多优质企业“揭榜”，是否公开尊重企业意愿。")),
    rules=(Rule(("credit_code", "reg_province"), v.credit_code_region),),
    items=(
        Field("company_name", N_("企业名称"), N_("与营业执照一致"), validate=v.text(100), section=BASIC,
              profile=True, example=N_("上海某某集团有限公司")),
        Field("publish_name", N_("是否公开企业名称"), N_("公开企业名称有利于吸引更多优质企业“揭榜”，是否公开尊重企业意愿"),
              choices=(Choice(N_("公开")), Choice(N_("不公开"))), section=BASIC),
        Field("credit_code", N_("统一社会信用代码"), N_("18位，见营业执照"), validate=v.credit_code, section=BASIC,
              profile=True, example="91310000132149237G"),
        Field("reg_province", N_("注册地所在省份"), N_("例：上海市"), validate=v.province, section=BASIC,
              profile=True, example=N_("上海市")),
        Field("legal_rep", N_("法人代表"), N_("姓名"), validate=v.text(30), section=BASIC, profile=True),
        Field("contact", N_("联系人及职务"), N_("例：张三 技术中心主任"), validate=v.text(50), section=BASIC,
              profile=True),
        Field("contact_phone", N_("联系电话"), N_("含区号，例：021-68811103"), validate=v.phone, section=BASIC,
              profile=True, example="021-68811103"),
        Field("fax", N_("传真"), N_("含区号；没有可回复“跳过”"), validate=v.phone, optional=True, section=BASIC,
              profile=True),
        Field("email", N_("电子邮箱"), N_("例：name@example.com"), validate=v.email, section=BASIC, profile=True),
        Field("mobile", N_("手机"), N_("联系人的11位手机号"), validate=v.mobile, section=BASIC,
              profile="contact_mobile", example="13912345678"),
        Field("registered_capital", N_("注册资本(万元)"), N_("单位万元"), validate=v.amount_wan, section=BASIC,
              profile=True),
        Field("employees", N_("从业人数(人)"), N_("整数"), validate=v.headcount, section=BASIC, profile=True),
        Field("revenue", N_("上年度营业收入(万元)"), N_("单位万元"), validate=v.amount_wan, section=BASIC,
              profile=True, carries=False),  # 上年度: next year's form asks for another year's figure
        Field("ownership", N_("企业性质"), choices=(Choice(N_("国有")), Choice(N_("民营")), Choice(N_("合资")), Choice(N_("外资"))),
              section=BASIC, profile=True),
        Field("industry", N_("所属行业"), N_("2位数代码及名称，例：36 或 汽车"), validate=v.industry,
              show=v.industry_display, section=BASIC, profile=True, example="36"),
        Field("channel", N_("推荐渠道"), N_("只选择其中一个渠道"), section=BASIC,
              print_label="推荐渠道(只选择其中一个渠道)",
              choices=(Choice(N_("省级中小企业主管部门")), Choice(N_("工业和信息化部相关行业司局")))),
        Field("channel_detail", N_("推荐渠道（具体单位）"), N_("例：上海市经济和信息化委员会 或 装备工业一司"),
              validate=v.text(60), section=BASIC),
        Field("address", N_("通讯地址"), N_("可收邮件的地址"), validate=v.text(100), section=BASIC, profile=True),
        Field("postcode", N_("邮编"), N_("6位数字"), validate=v.postcode, section=BASIC, profile=True),
        Group("needs", N_("需求"), section=NEEDS, more_question=N_("还要添加一项需求吗？"),
              fields=(
                  Field("name", N_("名称"), N_("需求的名称，一句话"), validate=v.text(100)),
                  Field("content", N_("需求内容"),
                        N_("请详细阐明技术参数要求、需达到的目标效果、时间要求，以及拟采取的合作方式等"),
                        validate=v.long_text(3000), long_text=True, max_chars=3000,
                        guidance=N_("样例：需求内容：研发一款改性材料\n参数要求：熔指 XXg/10min，阻燃要求 HB……\n"
                                    "需达到效果：适配电池外壳，成本控制在 XX 内\n时间要求：1 年\n拟采取的合作方式：项目委托")),
              )),
        Field("no_secret", N_("所有需求均不得涉密"), N_("请确认以上需求均不涉密"),
              choices=(Choice(N_("确认"), N_("确认，均不涉密")),), section=NEEDS, carries=False),
    ),
)
