"""企业规模 under 《中小企业划型标准规定》(工信部联企业〔2011〕300号).

Reading (National Bureau of Statistics, 2017): 大型, 中型 and 小型 need ALL their listed lower bounds,
otherwise the firm drops a class; 微型 is whatever is below 小型. Figures: 从业人员 in persons,
营业收入 and 资产总额 in 万元.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

CLASSES = ("大型", "中型", "小型", "微型")
MEASURES = {"employees": "从业人员", "revenue": "营业收入", "assets": "资产总额"}


@dataclass(frozen=True, slots=True)
class Group:
    number: int
    name: str
    # class → {measure: lower bound}; measures: employees, revenue, assets
    bounds: dict[str, dict[str, int]]

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(self.bounds["小型"])


def _g(n: int, name: str, large: dict, medium: dict, small: dict) -> Group:
    return Group(n, name, {"大型": large, "中型": medium, "小型": small})


E, R, A = "employees", "revenue", "assets"
GROUPS: dict[int, Group] = {g.number: g for g in (
    _g(1, "农、林、牧、渔业", {R: 20000}, {R: 500}, {R: 50}),
    _g(2, "工业", {E: 1000, R: 40000}, {E: 300, R: 2000}, {E: 20, R: 300}),
    _g(3, "建筑业", {R: 80000, A: 80000}, {R: 6000, A: 5000}, {R: 300, A: 300}),
    _g(4, "批发业", {E: 200, R: 40000}, {E: 20, R: 5000}, {E: 5, R: 1000}),
    _g(5, "零售业", {E: 300, R: 20000}, {E: 50, R: 500}, {E: 10, R: 100}),
    _g(6, "交通运输业", {E: 1000, R: 30000}, {E: 300, R: 3000}, {E: 20, R: 200}),
    _g(7, "仓储业", {E: 200, R: 30000}, {E: 100, R: 1000}, {E: 20, R: 100}),
    _g(8, "邮政业", {E: 1000, R: 30000}, {E: 300, R: 2000}, {E: 20, R: 100}),
    _g(9, "住宿业", {E: 300, R: 10000}, {E: 100, R: 2000}, {E: 10, R: 100}),
    _g(10, "餐饮业", {E: 300, R: 10000}, {E: 100, R: 2000}, {E: 10, R: 100}),
    _g(11, "信息传输业", {E: 2000, R: 100000}, {E: 100, R: 1000}, {E: 10, R: 100}),
    _g(12, "软件和信息技术服务业", {E: 300, R: 10000}, {E: 100, R: 1000}, {E: 10, R: 50}),
    _g(13, "房地产开发经营", {R: 200000, A: 10000}, {R: 1000, A: 5000}, {R: 100, A: 2000}),
    _g(14, "物业管理", {E: 1000, R: 5000}, {E: 300, R: 1000}, {E: 100, R: 500}),
    _g(15, "租赁和商务服务业", {E: 300, A: 120000}, {E: 100, A: 8000}, {E: 10, A: 100}),
    _g(16, "其他未列明行业", {E: 300}, {E: 100}, {E: 10}),
)}

# Two-digit industries whose group depends on a finer code: the sub-choices and their groups.
# (591 装卸搬运 → 交通运输业 and 592–599 仓储 → 仓储业 follow the statistics bureau's mapping.)
SUBDIVIDED: dict[str, tuple[tuple[str, str, int], ...]] = {
    "59": (("591", "591 装卸搬运", 6), ("592", "592–599 仓储", 7)),
    "70": (("701", "701 房地产开发经营", 13), ("702", "702 物业管理", 14),
           ("709", "703–709 房地产中介、租赁经营及其他", 16)),
}
FINANCIAL = {"66", "67", "68", "69"}  # outside this regulation (their own 2015 standard)
RAILWAY = "53"  # excluded from 交通运输业: classified by analogy with 其他未列明行业


def group_of(industry: str, sub: str | None = None) -> int | None:
    """The size-standard group of a GB/T 4754 two-digit code; None when it needs `sub`, is financial
    or is not an enterprise industry."""
    if not industry.isdigit():
        return None
    n = int(industry)
    if industry in SUBDIVIDED:
        return next((g for code, _l, g in SUBDIVIDED[industry] if code == sub), None)
    if industry in FINANCIAL or n >= 91 or n < 1:
        return None
    if n <= 5:
        return 1
    if n <= 46:
        return 2
    if n <= 50:
        return 3
    table = {51: 4, 52: 5, 53: 16, 54: 6, 55: 6, 56: 6, 57: 6, 58: 6, 60: 8, 61: 9, 62: 10, 63: 11, 64: 11,
             65: 12, 71: 15, 72: 15}
    return table.get(n, 16 if 73 <= n <= 90 else None)


@dataclass(frozen=True, slots=True)
class SizeResult:
    size: str
    group: Group
    figures: dict[str, Decimal]
    unmet: dict[str, list[str]] = field(default_factory=dict)  # class → measures below its bound


def classify(group: int, employees: int | None = None, revenue: Decimal | None = None,
             assets: Decimal | None = None) -> SizeResult:
    g = GROUPS[group]
    figures = {E: Decimal(employees or 0), R: Decimal(revenue or 0), A: Decimal(assets or 0)}
    used = {m: figures[m] for m in g.measures}
    unmet: dict[str, list[str]] = {}
    for size in ("大型", "中型", "小型"):
        below = [m for m, bound in g.bounds[size].items() if used[m] < bound]
        if not below:
            return SizeResult(size, g, used, unmet)
        unmet[size] = below
    return SizeResult("微型", g, used, unmet)
