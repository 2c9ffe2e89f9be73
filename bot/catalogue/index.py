"""Search over one campaign's 需求目录, in memory: character n-grams scored with BM25.

Chinese has no spaces, and people type parts of words ("雷达", "电池热失控", "热失控"), so text is cut
into overlapping character bigrams (plus single characters at a low weight, for one-character words),
and runs of Latin letters and digits ("5G", "IGBT", "SiC") into words. Each 需求 is a document of
weighted fields (事项名称 counts most); BM25 (k1=1.2, b=0.75) ranks them. A catalogue holds hundreds to
a few thousand items, so a campaign's index is built in a few milliseconds and kept until its rows
change. No I/O here: `bot.catalogue` loads rows and calls this.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.industries import industries, industry

K1, B = 1.2, 0.75
FIELD_WEIGHTS = {"name": 3.0, "content": 1.0, "industry": 0.5, "firm": 0.5}
UNIGRAM_WEIGHT = 0.3
SYNONYM_WEIGHT = 1.0
SAME_INDUSTRY, SAME_SECTION = 1.3, 1.1  # suggestions: a need of the firm's own 大类, 门类
# Characters that carry no topic on their own (as single characters only; inside bigrams they stay).
_STOP = set("的和与及等在对为了或其中以于一是有可并将把被从向到由个种项类用")
_TOKEN = re.compile(r"[a-z0-9]+(?:[.+][a-z0-9]+)*|[\u3400-\u9fff]+")
_CODE_PART = re.compile(r"[A-Z]+|\d+")
# How a firm describes itself in 企业概况, not what it does: left out of a suggestion's query.
_PROFILE_WORDS = {"公司", "企业", "集团", "提供", "产品", "主要", "专注", "从事", "服务", "主营", "客户", "业务", "行业",
                  "领域", "国内", "国家", "拥有", "团队", "成立", "高新", "专精", "特新", "小巨", "巨人", "致力", "包括",
                  "能力", "用于"}
# The same thing said two ways (an abbreviation and its Chinese name): a query with one finds the other.
SYNONYMS = (("sic", "碳化硅"), ("gan", "氮化镓"), ("igbt", "绝缘栅双极型晶体管"), ("ai", "人工智能"),
            ("agv", "自动导引车"), ("lng", "液化天然气"), ("mems", "微机电"), ("cae", "有限元"),
            ("plc", "可编程控制器"), ("bms", "电池管理系统"), ("ota", "远程升级"), ("mes", "制造执行系统"),
            ("led", "发光二极管"), ("pcb", "印制电路板"), ("vocs", "挥发性有机物"), ("3d打印", "增材制造"),
            ("光伏", "太阳能"), ("锂电", "锂离子电池"), ("功率半导体", "功率器件"))


@dataclass(frozen=True, slots=True)
class Need:
    """One item of the catalogue, as search returns it (a plain value, safe to keep)."""

    id: int
    campaign_id: str
    code: str
    name: str
    firm: str  # empty when the firm chose 不公开
    industry: str
    region: str
    content: str
    state: str = "published"

    @property
    def firm_display(self) -> str:
        return self.firm or "不公开"

    @property
    def published(self) -> bool:
        return self.state == "published"


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def terms(text: str, unigrams: bool = True) -> Counter[str]:
    """Bigrams (and single characters) of Chinese runs, whole words of Latin/digit runs."""
    out: Counter[str] = Counter()
    for run in _TOKEN.findall(normalise(text)):
        if run.isascii():
            out[run] += 1
            continue
        for a, b in zip(run, run[1:], strict=False):
            out[a + b] += 1
        if unigrams or len(run) == 1:
            for ch in run:
                if ch not in _STOP:
                    out["\x00" + ch] += 1  # marked: a single character is a weaker term
    return out


def code_key(code: str) -> str:
    """A code as people type it: no case, width, spaces or separators; no leading zeros in numbers
    ("2024-sh-17", "２０２４ＳＨ０１７" and "2024-SH-017" are one code)."""
    parts = _CODE_PART.findall(unicodedata.normalize("NFKC", code or "").upper())
    return "-".join(p.lstrip("0") or "0" if p.isdigit() else p for p in parts)


def _edits(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def nearest(codes: Iterable[str], typed: str, limit: int = 3) -> list[str]:
    """The catalogue's codes closest to a typed one (edit distance over the normalised form; a code
    that contains what was typed, or is contained in it, comes first)."""
    key = code_key(typed).replace("-", "")
    if not key:
        return []
    scored = []
    for code in codes:
        other = code_key(code).replace("-", "")
        d = _edits(key, other)
        if key in other or other in key:
            d -= 1  # a part of the code ("017") is close to the whole
        scored.append((d, len(other), code))
    scored.sort()
    return [c for _d, _n, c in scored[:limit]]


class Index:
    """BM25 over the fields of a campaign's needs."""

    def __init__(self, needs: Sequence[Need], all_needs: Sequence[Need] | None = None) -> None:
        self.needs = list(needs)  # the published ones: what search finds
        self.all_needs = list(needs if all_needs is None else all_needs)  # withdrawn too: what a code names
        self.by_code = {code_key(n.code): n for n in self.needs}
        self.docs: list[dict[str, float]] = []
        self.lengths: list[float] = []
        df: Counter[str] = Counter()
        for n in self.needs:
            tf: dict[str, float] = {}
            length = 0.0
            ind = industry(n.industry)
            fields = {"name": n.name, "content": n.content, "firm": n.firm,
                      "industry": ind.name if ind else ""}
            for fname, text in fields.items():
                w = FIELD_WEIGHTS[fname]
                for term, count in terms(text).items():
                    weight = w * (UNIGRAM_WEIGHT if term.startswith("\x00") else 1.0)
                    tf[term] = tf.get(term, 0.0) + weight * count
                    length += weight * count
            self.docs.append(tf)
            self.lengths.append(length)
            df.update(tf.keys())
        self.avg = (sum(self.lengths) / len(self.lengths)) if self.lengths else 1.0
        n_docs = len(self.needs)
        self.idf = {t: math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, tf in enumerate(self.docs):
            for term in tf:
                self.postings.setdefault(term, []).append(i)

    def __len__(self) -> int:
        return len(self.needs)

    def scores(self, query: Mapping[str, float]) -> dict[int, float]:
        out: dict[int, float] = {}
        for term, qw in query.items():
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i in self.postings[term]:
                f = self.docs[i][term]
                norm = K1 * (1 - B + B * self.lengths[i] / self.avg)
                out[i] = out.get(i, 0.0) + qw * idf * f * (K1 + 1) / (f + norm)
        return out

    @staticmethod
    def query_terms(text: str, cap: int = 3) -> dict[str, float]:
        """A query's terms, each weighted by how often it is said (capped: a long 企业概况 repeats words);
        a word with a synonym brings the synonym's terms too."""
        out = {t: min(c, cap) * (UNIGRAM_WEIGHT if t.startswith("\x00") else 1.0) for t, c in terms(text).items()}
        said = normalise(text)
        words = set(_TOKEN.findall(said))

        def says(w: str) -> bool:
            return w in words if w.isascii() else w in said

        for a, b in SYNONYMS:
            for have, other in ((a, b), (b, a)):
                if says(have) and not says(other):
                    for t, c in terms(other, unigrams=False).items():
                        out[t] = out.get(t, 0.0) + SYNONYM_WEIGHT * min(c, cap)
        return out

    def search(self, text: str, limit: int = 5, boost: Mapping[int, float] | None = None) -> list[Need]:
        """Needs ranked for `text`: a code (whole, or its distinctive part) first, then BM25 by words."""
        text = (text or "").strip()
        if not text:
            return []
        first: list[Need] = []
        exact = self.by_code.get(code_key(text))
        if exact is not None and re.search(r"\d", text):
            first.append(exact)
        elif re.fullmatch(r"[A-Za-z0-9\-_ ]{3,}", text) and re.search(r"\d", text):
            key = code_key(text).replace("-", "")
            first.extend(n for k, n in self.by_code.items() if key and key in k.replace("-", ""))
        scores = self.scores(self.query_terms(text))
        if boost:
            scores = {i: s * boost.get(i, 1.0) for i, s in scores.items()}
        ranked = [self.needs[i] for i, _ in sorted(scores.items(), key=lambda p: (-p[1], p[0]))]
        seen = {n.id for n in first}
        return (first + [n for n in ranked if n.id not in seen])[:limit]

    def suggest(self, industry_code: str | None, overview: str, limit: int = 5) -> list[Need]:
        """Needs for a firm from its 所属行业 (two digits) and 企业概况: the overview's words by BM25,
        raised for needs of the same 大类 (and a little for the same 门类); with no words, the 大类's."""
        code = (industry_code or "").strip()[:2]
        own = industries().get(code)
        boost: dict[int, float] = {}
        for i, n in enumerate(self.needs):
            other = industries().get(n.industry)
            if own and n.industry == code:
                boost[i] = SAME_INDUSTRY
            elif own and other and other.section == own.section:
                boost[i] = SAME_SECTION
        query = {t: w for t, w in self.query_terms(overview or "").items() if t not in _PROFILE_WORDS}
        scores = self.scores(query)
        if not scores:
            return [n for i, n in enumerate(self.needs) if boost.get(i) == SAME_INDUSTRY][:limit]
        ranked = sorted(((s * boost.get(i, 1.0), i) for i, s in scores.items()), key=lambda p: (-p[0], p[1]))
        return [self.needs[i] for _s, i in ranked[:limit]]
