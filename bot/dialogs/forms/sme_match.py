"""附件3 中小企业“揭榜”对接表 — the form as data.

Labels are the form's own words, verbatim. Next year's form should be a small diff here.
"""

from __future__ import annotations

from bot.dialogs import validators as v
from bot.dialogs.fields import Choice, Field, Form, Group, Rule, When
from bot.domain.places import registered_place
from bot.i18n import N_

BASIC = N_("一、企业基本情况")
OVERVIEW = N_("二、企业概况")
ITEMS = N_("三、拟揭榜事项")

SIZE_INPUTS = ("industry", "industry_sub", "employees", "revenue", "total_assets")

FORM = Form(
    id="sme_match",
    title=N_("中小企业“揭榜”对接表"),
    short_title=N_("对接表"),
    audiences=("sme",),
    filename="中小企业揭榜对接表-{company_name}.docx",
    renderer="bot.documents.sme_match:render",
    notes=(N_("注：可揭榜多个事项，每个事项均需附揭榜申请书"),),
    rules=(Rule(("credit_code", "reg_province"), v.credit_code_region),),
    review_lines=((N_("企业注册地（打印为）"), registered_place),),
    items=(
        Field("company_name", N_("企业名称"), N_("与营业执照一致，例：上海某某科技有限公司"),
              validate=v.text(100), section=BASIC, profile=True, example=N_("上海某某科技有限公司")),
        Field("credit_code", N_("统一社会信用代码"), N_("18位，见营业执照，例：91310000132149237G"),
              validate=v.credit_code, section=BASIC, profile=True, example="91310000132149237G"),
        Field("reg_province", N_("企业注册地（省）"), N_("例：上海市、江苏省"), print_label="企业注册地",
              validate=v.province, section=BASIC, profile=True, example=N_("上海市")),
        Field("reg_city", N_("企业注册地（市(区)）"), N_("例：浦东新区、苏州市"), print_label="企业注册地",
              validate=v.text(30), section=BASIC, profile=True, example=N_("浦东新区")),
        Field("reg_county", N_("企业注册地（县）"), N_("没有可回复“跳过”"), print_label="企业注册地",
              validate=v.text(30), optional=True, section=BASIC, profile=True),
        Field("reg_date", N_("注册时间"), N_("例：2015-03-02 或 2015年3月2日"),
              validate=v.past_date, section=BASIC, profile=True, example="2015-03-02"),
        Field("legal_rep", N_("法人代表"), N_("姓名"), validate=v.text(30), section=BASIC, profile=True),
        Field("legal_rep_phone", N_("联系电话（法人代表）"), N_("含区号，例：021-68811103"), print_label="联系电话",
              validate=v.phone, optional=True, section=BASIC, profile=True, example="021-68811103"),
        Field("legal_rep_mobile", N_("手机（法人代表）"), N_("11位手机号"), print_label="手机",
              validate=v.mobile, optional=True, section=BASIC, profile=True, example="13912345678"),
        Field("contact", N_("联系人及职务"), N_("例：张三 总经理助理"), validate=v.text(50), section=BASIC, profile=True,
              example=N_("张三 总经理助理")),
        Field("contact_phone", N_("联系电话（联系人）"), N_("含区号，例：021-68811103"), print_label="联系电话",
              validate=v.phone, section=BASIC, profile=True, example="021-68811103"),
        Field("contact_mobile", N_("手机（联系人）"), N_("11位手机号"), print_label="手机",
              validate=v.mobile, section=BASIC, profile=True, example="13912345678"),
        Field("fax", N_("传真"), N_("含区号；没有可回复“跳过”"),
              validate=v.phone, optional=True, section=BASIC, profile=True, example="021-68811104"),
        Field("email", N_("电子邮箱"), N_("例：name@example.com"), validate=v.email, section=BASIC, profile=True,
              example="zhangsan@example.com"),
        Field("registered_capital", N_("注册资本(万元)"), N_("单位万元，例：500 或 0.5亿"),
              validate=v.amount_wan, section=BASIC, profile=True, example="500"),
        Field("employees", N_("从业人数(人)"), N_("整数，例：85"), validate=v.headcount, section=BASIC, profile=True,
              example="85"),
        Field("revenue", N_("上年度营业收入(万元)"), N_("单位万元，例：3200 或 3200万"),
              validate=v.amount_wan, section=BASIC, profile=True, example="3200",
              carries=False),  # 上年度: next year's form asks for another year's figure
        Field("industry", N_("所属行业"), N_("GB/T 4754-2017 两位代码或行业名称，例：39 或 软件"),
              validate=v.industry, show=v.industry_display, section=BASIC, profile=True, example="65"),
        Field("industry_sub", N_("所属行业（细分）"), N_("划型标准在此行业内再细分，请选择"),
              choices=v.industry_sub_choices, section=BASIC, profile=True, depends_on=("industry",),
              when=When(("industry",), v.industry_needs_sub)),
        Field("total_assets", N_("资产总额(万元)"), N_("本行业划型需要资产总额，单位万元"),
              validate=v.amount_wan, section=BASIC, profile=True, example="1500",
              when=When(("industry", "industry_sub"), v.needs_total_assets)),
        Field("size", N_("企业规模"), N_("按《中小企业划型标准规定》(工信部联企业〔2011〕300号)计算"),
              compute=v.enterprise_size, depends_on=SIZE_INPUTS, stops=("大型",), section=BASIC,
              choices=(Choice(N_("大型")), Choice(N_("中型")), Choice(N_("小型")), Choice(N_("微型")))),
        Field("ownership", N_("企业性质"), choices=(Choice(N_("国有")), Choice(N_("民营")), Choice(N_("合资")), Choice(N_("外资"))),
              section=BASIC, profile=True),
        Field("enterprise_types", N_("企业类型(可多选)"), N_("可选多项，例：1,3"), multi=True, section=BASIC, profile=True,
              choices=(Choice(N_("专精特新“小巨人”企业")), Choice(N_("省级专精特新中小企业")),
                       Choice(N_("创新型中小企业")), Choice(N_("其他")))),
        Field("address", N_("通讯地址"), N_("可收邮件的地址"), validate=v.text(100), section=BASIC, profile=True,
              example=N_("上海市浦东新区学林路36弄13号")),
        Field("postcode", N_("邮编"), N_("6位数字，例：200120"), validate=v.postcode, section=BASIC, profile=True,
              example="200120"),
        Field("overview", N_("企业概况"), N_("包括主要业务领域、业内地位、技术创新等情况，不超过500字"),
              validate=v.long_text(500), long_text=True, max_chars=500, section=OVERVIEW, profile=True),
        Group("items", N_("事项"), section=ITEMS, more_question=N_("还要添加一个拟揭榜事项吗？"),
              fields=(
                  Field("name", N_("事项名称"), N_("需求目录中的事项名称"), validate=v.text(100), catalogue="name"),
                  Field("code", N_("代码"), N_("需求目录中的事项代码"), validate=v.text(30), catalogue="code"),
              )),
    ),
)
