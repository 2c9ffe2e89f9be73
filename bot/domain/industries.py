"""GB/T 4754-2017 国民经济行业分类: the 20 门类 and 97 大类 (two-digit codes)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "industries.csv"


@dataclass(frozen=True, slots=True)
class Industry:
    code: str  # two digits, "01" … "97"
    name: str  # 大类名称
    section: str  # 门类 letter, "A" … "T"
    section_name: str  # 门类名称

    @property
    def display(self) -> str:
        return f"{self.code} {self.name}"


@cache
def industries() -> dict[str, Industry]:
    with DATA.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {r["大类"]: Industry(r["大类"], r["大类名称"], r["门类"], r["门类名称"]) for r in rows}


def industry(code: str) -> Industry | None:
    return industries().get(code)


def industry_name(code: str) -> str:
    """"39" → "计算机、通信和其他电子设备制造业"; an unknown code comes back unchanged."""
    ind = industries().get(code)
    return ind.name if ind else code
