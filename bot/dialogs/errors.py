"""TEMPORARY: message templates for validator codes (replaced by the validators' own table)."""
from bot.i18n import N_

MESSAGES: dict[str, str] = {
    "empty": N_("请输入内容。"),
    "choose_listed": N_("请从下面的选项中选择，回复编号即可。"),
    "choose_listed_multi": N_("请回复选项编号，可多选，例如：1,3"),
    "choose_at_least_one": N_("请至少选择一项。"),
    "choose_one": N_("找到多个匹配，请选择："),
}
