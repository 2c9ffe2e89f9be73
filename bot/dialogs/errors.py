"""Message templates for the validators' codes: short, specific, for phones.

Each says what is wrong and what to type instead; the walker sends it with the question again, in one
message. Params are numbers, characters or official Chinese terms.
"""

from bot.i18n import N_

MESSAGES: dict[str, str] = {
    # text
    "empty": N_("请输入内容。"),
    "unprintable": N_("含有无法打印的字符，请重新输入。"),
    "required": N_("这一项必须填写，不能跳过。"),
    "too_long": N_("太长了：最多 {max} 个字，现在 {n} 个。"),
    "too_many_chars": N_("超出 {over} 字：最多 {max} 字，现在 {n} 字。请精简后重新发送。"),
    "chars_left": N_("共 {n} 字，还可写 {left} 字。"),
    # 统一社会信用代码
    "uscc_length": N_("统一社会信用代码应为18位，您输入了 {n} 位。"),
    "uscc_char": N_("第 {pos} 位“{char}”不在代码字符中（代码不含 I、O、S、V、Z）。"),
    "uscc_region": N_("第 {pos} 位“{char}”应为数字：第3–8位是登记机关的行政区划码。请核对营业执照。"),
    "uscc_check": N_("校验不通过：代码中有一位输错了。请对照营业执照逐位核对：\n{code}"),
    "uscc_not_enterprise": N_("已保存。提示：代码以 {prefix} 开头，不是企业（91）常见代码，请确认无误。"),
    "uscc_region_differs": N_("已保存。提示：代码显示登记地为{coded}，与所填注册地{stated}不同，请确认。"),
    # phones, e-mail, post code
    "mobile_length": N_("手机号应为11位，您输入了 {n} 位。"),
    "mobile_prefix": N_("手机号应以 13–19 开头，您输入的以 {prefix} 开头。"),
    "mobile_unassigned": N_("没有 {prefix} 开头的手机号段，请核对。"),
    "phone_short": N_("电话号码太短（{n} 位），请带区号，例：021-68811103。"),
    "phone_local_length": N_("区号 {area} 后的号码应为 {want} 位，您输入了 {n} 位。"),
    "phone_area_unknown": N_("没有 {area} 这个区号，请核对。"),
    "phone_format": N_("电话格式不对，例：021-68811103 或 33134800-20986（分机）。"),
    "email_no_at": N_("邮箱缺少“@”，例：name@example.com。"),
    "email_format": N_("邮箱格式不对，例：name@example.com。"),
    "email_dots": N_("“@”前面不能以点开头或结尾，也不能有两个连续的点。"),
    "postcode_digits": N_("邮编只能是数字，例：200120。"),
    "postcode_length": N_("邮编应为6位数字，您输入了 {n} 位。"),
    # dates
    "date_format": N_("日期格式不对，例：2015-03-02 或 2015年3月2日。"),
    "date_invalid": N_("没有这一天：{text}。"),
    "date_future": N_("不能晚于今天（{date}）。"),
    "date_too_old": N_("日期太早（{date}），请核对。"),
    # amounts and counts
    "amount_format": N_("请输入金额数字，单位万元，例：1200 或 0.5亿。"),
    "amount_negative": N_("金额不能为负数。"),
    "amount_assumed_wan": N_("按万元计：{wan} 万元。"),
    "amount_converted": N_("已换算：{given} = {wan} 万元。"),
    "amount_maybe_yuan": N_("按万元计：{wan} 万元。如果您填的是元，应为 {yuan_as_wan} 万元，请回复“上一步”修改。"),
    "headcount_whole": N_("人数应为整数，例：85。"),
    "headcount_format": N_("请输入人数（整数），例：85。"),
    # regions
    "province_unknown": N_("没有找到省份“{text}”，例：上海市、江苏省、广西。"),
    # industries
    "industry_code_unknown": N_("没有 {code} 这个行业大类代码（01–97），请核对或输入行业名称。"),
    "industry_not_enterprise": N_("“{name}”属于公共管理或国际组织，不是企业的行业，请重新选择。"),
    "industry_not_found": N_("没有找到与“{text}”相符的行业，请换个词或输入两位代码（如 39）。"),
    "industry_matched": N_("{text} → {match}"),
    "industry_choose": N_("找到几个相符的行业，请选择："),
    "industry_choose_more": N_("找到{n}个相符的行业，这里是最相符的{shown}个。都不对请换个更具体的词，或输入两位代码（如 39）："),
    "industry_choose_weak": N_("没有找到完全相符的行业，最接近的是下面几个。都不对请换个词，或输入两位代码（如 39）："),
    # 企业规模
    "size_result": N_("{group}：{figures}。中型需{medium}，小型需{small}。"),
    "size_by_analogy": N_("铁路运输业不在划型标准的交通运输业内，参照“其他未列明行业”划型：{figures}。"),
    "size_large": N_("{group}：{figures}，达到大型标准（{large}）。只有中小微企业可以揭榜；"
                     "如数字有误，请选“修改数字”。"),
    "size_financial": N_("金融业不适用本划型标准（另有金融业划型标准），请按本企业实际情况选择企业规模："),
    "size_unknown_industry": N_("无法按所属行业计算企业规模，请选择："),
}
