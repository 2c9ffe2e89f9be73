"""Campaign packs: one YAML file per campaign (a year's notice for one region), checked before it is used.

    from bot.campaigns.pack import read_pack, shipped, PackError
    pack = read_pack(Path("2025-shanghai.yaml"))   # Pack: .campaign (the dict Campaign reads), .warnings
    shipped()                                      # the packs in bot/campaigns/packs/, as campaign dicts

A pack is checked in three passes, and every problem is reported with its line, as
`2025-shanghai.yaml:14: forms.sme_match.deadline: 2025-13-01 is not a date (YYYY-MM-DD or 另行通知)`:
1. YAML (ruamel.yaml, YAML 1.2: `no` stays text; it keeps the line of every key and item). Dates stay the
   text they were written as; a number written with a leading zero (a phone 02164225228) stays text too.
2. The schema, bot/campaigns/packs/schema.json (JSON Schema 2020-12, jsonschema): the shape, the types,
   the date formats; its `x-messages` give a keyword's message in the operator's words.
3. What a schema cannot say: the forms are this bot's and in a version it knows, the region is an official
   name, the id's year is the year, deadlines fall after the notice was issued, `to: district` has districts.

The pack's keys are the campaign dict's own (`admin show` prints the same names), except that a deadline is
written `另行通知` instead of being left empty, and `catalogue` (a 需求目录 file for `admin load-campaign` to
import) stays out of the campaign.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.campaigns.model import OFFSETS
from bot.dialogs.forms import FORMS
from bot.domain import regions

PACKS_DIR = Path(__file__).resolve().parent / "packs"
SCHEMA_FILE = PACKS_DIR / "schema.json"
UNKNOWN = "另行通知"  # a deadline the notice leaves to a later notice
DEFAULT_REMIND_TIME = "09:00"

Path_ = tuple[str | int, ...]  # a place in the pack: ("forms", "sme_match", "deadline"), ("contacts", 3)


class PackError(Exception):
    """The pack cannot be used: `problems` are its lines, "file:line: where: what"."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass
class Pack:
    path: Path
    campaign: dict[str, Any]
    catalogue: Path | None = None  # the 需求目录 file to import with it
    warnings: list[str] = field(default_factory=list)
    lines: dict[Path_, int] = field(default_factory=dict)  # where each key and item stands (1-based)

    @property
    def id(self) -> str:
        return self.campaign["id"]

    def line(self, *where: str | int) -> str:
        """"2025-shanghai.yaml:14" for a place in the pack (its nearest enclosing one that is written)."""
        path = tuple(where)
        while path and path not in self.lines:
            path = path[:-1]
        return f"{self.path.name}:{self.lines.get(path, 1)}"


# -- reading ---------------------------------------------------------------------------------------------


def _yaml() -> Any:
    """A round-trip reader (it keeps the line of every key and item) that leaves dates as they were typed
    and keeps a number with a leading zero as text, so the schema, not YAML, decides what a value is."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import RoundTripConstructor

    class Constructor(RoundTripConstructor):
        pass

    def as_text(loader: Any, node: Any) -> str:
        return str(node.value)

    def int_or_text(loader: Any, node: Any) -> int | str:
        text = str(node.value)
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            return text  # 0o17, 0x1F: not what a campaign means
        return value if str(value) == text else text  # 02164225228 stays a phone number

    def plain_bool(loader: Any, node: Any) -> bool:
        return bool(RoundTripConstructor.construct_yaml_bool(loader, node))

    Constructor.add_constructor("tag:yaml.org,2002:timestamp", as_text)
    Constructor.add_constructor("tag:yaml.org,2002:int", int_or_text)
    Constructor.add_constructor("tag:yaml.org,2002:bool", plain_bool)
    yaml = YAML(typ="rt")
    yaml.Constructor = Constructor
    return yaml


def _positions(node: Any, path: Path_ = (), out: dict[Path_, int] | None = None) -> dict[Path_, int]:
    """The 1-based line of every key and item under `node` (ruamel's CommentedMap/Seq keep them)."""
    out = {} if out is None else out
    if isinstance(node, Mapping) and hasattr(node, "lc"):
        out.setdefault(path, node.lc.line + 1)
        for key in node:
            line = node.lc.key(key)[0] + 1
            out[(*path, str(key))] = line
            _positions(node[key], (*path, str(key)), out)
    elif isinstance(node, list) and hasattr(node, "lc"):
        out.setdefault(path, node.lc.line + 1)
        for i, item in enumerate(node):
            out[(*path, i)] = node.lc.item(i)[0] + 1
            _positions(item, (*path, i), out)
    return out


def _plain(node: Any) -> Any:
    """ruamel's commented maps, sequences and scalar subclasses as plain dicts, lists, str, int, bool."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(x) for x in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)


def _dotted(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(the file)"


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value if value.strip() else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "an empty value"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


_TYPE_WORDS = {"string": "text", "integer": "a whole number", "number": "a number", "array": "a list (- item lines)",
               "object": "a mapping (key: value lines)", "boolean": "true or false"}


class _Checker:
    def __init__(self, path: Path, doc: Any, lines: dict[Path_, int]) -> None:
        self.path, self.doc, self.lines = path, doc, lines
        self.problems: list[tuple[int, str]] = []
        self.warnings: list[tuple[int, str]] = []

    def line_of(self, where: Path_) -> int:
        while where and where not in self.lines:
            where = where[:-1]
        return self.lines.get(where, 1)

    def fail(self, where: Path_, message: str) -> None:
        self.problems.append((self.line_of(where), f"{_dotted(where)}: {message}" if where else message))

    def warn(self, where: Path_, message: str) -> None:
        self.warnings.append((self.line_of(where), f"{_dotted(where)}: {message}"))

    def rendered(self, found: list[tuple[int, str]]) -> list[str]:
        return [f"{self.path.name}:{line}: {text}" for line, text in sorted(dict.fromkeys(found), key=lambda x: x[0])]

    # -- pass 2: the schema ----------------------------------------------------------------------------

    def schema(self) -> None:
        from jsonschema import Draft202012Validator, FormatChecker

        validator = Draft202012Validator(_schema(), format_checker=FormatChecker(formats=("date",)))
        for error in validator.iter_errors(self.doc):
            self._schema_error(error)

    def _schema_error(self, error: Any) -> None:
        where: Path_ = tuple(error.absolute_path)
        keyword, value, schema = error.validator, error.instance, error.schema
        own = (schema.get("x-messages") or {}).get(keyword) if isinstance(schema, Mapping) else None
        if keyword == "required":
            for key in error.validator_value:
                if isinstance(value, Mapping) and key not in value:
                    if where:
                        self.fail(where, f"{key} is missing")
                    else:  # at the top: said on line 1
                        self.problems.append((1, f"{key} is missing"))
            return
        if keyword == "additionalProperties":
            known = sorted(schema.get("properties") or {})
            for key in value:
                if key not in known:
                    near = difflib.get_close_matches(str(key), known, n=1)
                    hint = f"did you mean {near[0]}?" if near else f"known: {', '.join(known)}"
                    self.fail((*where, str(key)), f"unknown key ({hint})")
            return
        if own:
            self.fail(where, own.replace("{value}", _shown(value)))
        elif keyword == "type":
            wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
            words = [_TYPE_WORDS.get(str(t), str(t)) for t in wanted]
            self.fail(where, f"{_shown(value)} should be {' or '.join(words)}")
        elif keyword in ("minimum", "maximum"):
            self.fail(where, f"{_shown(value)} is {'below' if keyword == 'minimum' else 'above'} "
                             f"{error.validator_value}")
        elif keyword == "minLength":
            self.fail(where, "is empty")
        elif keyword == "uniqueItems":
            self.fail(where, "lists a value twice")
        elif keyword == "const":
            self.fail(where, f"{_shown(value)} should be {error.validator_value}")
        else:
            self.fail(where, error.message)

    # -- pass 3: what a schema cannot say ----------------------------------------------------------------

    def meaning(self) -> None:
        doc = self.doc if isinstance(self.doc, Mapping) else {}
        cid, year = doc.get("id"), doc.get("year")
        if isinstance(cid, str) and isinstance(year, int) and cid[:4].isdigit() and int(cid[:4]) != year:
            self.fail(("year",), f"{year}, but the id {cid} says {cid[:4]}")
        if isinstance(doc.get("parent"), str) and doc.get("parent") == cid:
            self.fail(("parent",), "a campaign cannot follow itself")
        region = doc.get("region")
        if isinstance(region, str) and region and region not in OFFICIAL_REGIONS:
            near = regions.province(region) or regions.plan_city(region)
            self.fail(("region",), f"{region} is not an official region name"
                      + (f" (write {near})" if near else " (全国, a province such as 上海市, a 计划单列市 or 新疆生产建设兵团)"))
        zone = doc.get("timezone")
        if isinstance(zone, str):
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                self.fail(("timezone",), f"{zone} is not a time zone (e.g. Asia/Shanghai)")
        issued, closes = _date(doc.get("issued")), _date(doc.get("closes"))
        if issued and closes and closes < issued:
            self.fail(("closes",), f"{closes} is before the notice was issued ({issued})")
        contacts: list[Any] = doc["contacts"] if isinstance(doc.get("contacts"), list) else []
        self._contacts(contacts)
        forms: Mapping[str, Any] = doc["forms"] if isinstance(doc.get("forms"), Mapping) else {}
        has_districts = any(isinstance(c, Mapping) and c.get("district") for c in contacts)
        for form_id, spec in forms.items():
            self._form(str(form_id), spec, forms, issued, closes, has_districts)
        catalogue = doc.get("catalogue")
        if isinstance(catalogue, str) and catalogue and not (self.path.parent / catalogue).is_file():
            self.fail(("catalogue",), f"{catalogue}: no such file beside the pack")

    def _contacts(self, contacts: list[Any]) -> None:
        seen: dict[str, int] = {}
        for i, c in enumerate(contacts):
            if not isinstance(c, Mapping) or not isinstance(c.get("district"), str):
                continue
            for name in (c["district"], *(a for a in c.get("aliases") or () if isinstance(a, str))):
                if name in seen:
                    self.fail(("contacts", i), f"{name} is already the district of contacts[{seen[name]}]")
                seen.setdefault(name, i)

    def _form(self, form_id: str, spec: Any, forms: Mapping[str, Any], issued: date | None, closes: date | None,
              has_districts: bool) -> None:
        where: Path_ = ("forms", form_id)
        form = FORMS.get(form_id)
        if form is None:
            near = difflib.get_close_matches(form_id, sorted(FORMS), n=1)
            self.fail(where, "not a form of this bot"
                      + (f" (did you mean {near[0]}?)" if near else f" (it has {', '.join(sorted(FORMS))})"))
            return
        if form.per_item and form.per_item.partition(".")[0] not in forms:
            parent = form.per_item.partition(".")[0]
            self.fail(where, f"one is written per item of {parent}, which the campaign does not list")
        if not isinstance(spec, Mapping):
            return
        version = spec.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            if version > form.version:
                self.fail((*where, "version"), f"{version}, but this bot knows {form_id} up to version "
                                               f"{form.version}: update the bot before loading this pack")
            elif version < 1:
                self.fail((*where, "version"), f"{version}: versions of a form count from 1")
            elif version < form.version:  # as the notice prints it (bot/handlers/session.py version_in)
                self.warn((*where, "version"), f"{version}: older than this bot's newest of {form_id} ({form.version}); "
                                               f"this campaign's new forms are filled in version {version}")
        deadline = _date(spec.get("deadline"))
        if deadline and issued and deadline < issued:
            self.fail((*where, "deadline"), f"{deadline} is before the notice was issued ({issued})")
        if deadline and closes and deadline > closes:
            self.fail((*where, "deadline"), f"{deadline} is after the campaign closes ({closes})")
        if spec.get("to") == "district" and not has_districts:
            self.fail((*where, "to"), "district, but contacts lists no district office (附件1)")


OFFICIAL_REGIONS = frozenset((regions.NATIONAL, *regions.PROVINCES, *regions.SEPARATE_PLAN_CITIES, regions.BINGTUAN))


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


@functools.cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def read_pack(path: Path, text: str | None = None) -> Pack:
    """The pack at `path` (or its `text`), checked; PackError lists every problem with its line."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    name = path.name
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
    except UnicodeDecodeError:
        raise PackError([f"{name}:1: the file is not UTF-8 text (save it as UTF-8)"]) from None
    try:
        doc = _yaml().load(source)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(x for x in (exc.context, exc.problem) if x) or str(exc)
        raise PackError([f"{name}:{line}: not YAML: {' '.join(what.split())}"]) from None
    except YAMLError as exc:
        raise PackError([f"{name}:1: not YAML: {' '.join(str(exc).split())}"]) from None
    if doc is None:
        raise PackError([f"{name}:1: the file is empty (a pack starts with id:, year:, region: …)"])
    lines = _positions(doc)
    check = _Checker(path, doc, lines)
    if not isinstance(doc, Mapping):
        check.fail((), f"{_shown(doc)}: a pack is a mapping (id: …, year: …, forms: …)")
    else:
        check.schema()
        check.meaning()
    if check.problems:
        raise PackError(check.rendered(check.problems))
    plain = _plain(doc)
    catalogue = plain.pop("catalogue", None)
    return Pack(path=path, campaign=campaign_of(plain), lines=lines, warnings=check.rendered(check.warnings),
                catalogue=(path.parent / catalogue).resolve() if catalogue else None)


def campaign_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A checked pack's values as the campaign dict `Campaign` reads (the shape `admin show` prints)."""
    data: dict[str, Any] = {
        "id": doc["id"], "year": doc["year"], "region": doc["region"], "title": doc["title"],
        "number": doc["number"], "issued": doc["issued"],
        "remind_time": doc.get("remind_time") or DEFAULT_REMIND_TIME,
        "remind_days": list(doc.get("remind_days", OFFSETS)),
        "forms": {}, "contacts": [_texts(c) for c in doc.get("contacts") or ()],
    }
    for key in ("parent", "closes", "timezone"):
        if doc.get(key) is not None:
            data[key] = doc[key]
    if doc.get("mail_to") is not None:
        data["mail_to"] = _texts(doc["mail_to"])
    for form_id, spec in doc["forms"].items():
        unknown = spec["deadline"] == UNKNOWN
        form: dict[str, Any] = {
            "version": spec["version"],
            "deadline": None if unknown else spec["deadline"],
            "deadline_text": spec.get("deadline_text") or (UNKNOWN if unknown else ""),
        }
        if spec.get("to") is not None:
            form["to"] = spec["to"] if isinstance(spec["to"], str) else _texts(spec["to"])
        data["forms"][form_id] = form
    return data


def _texts(place: Mapping[str, Any]) -> dict[str, Any]:
    """A place or contact with its numbers (a phone written without quotes) as the text they are."""
    return {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in place.items()}


def pack_files(folder: Path = PACKS_DIR) -> Iterator[Path]:
    return iter(sorted(folder.glob("*.yaml")))


@functools.cache
def shipped() -> tuple[dict[str, Any], ...]:
    """The campaigns shipped with the bot: every pack in bot/campaigns/packs/, checked like any other."""
    return tuple(read_pack(p).campaign for p in pack_files())
