"""A campaign as a value: year, region, forms with deadlines, where the paper goes, contacts.

A campaign is a plain dict (a shipped pack, bot/campaigns/packs/, or a database row an admin wrote);
`Campaign` reads it. Deadlines are local dates (the campaign's timezone, else JIEBANG_TIMEZONE): a deadline
day is open until its end; the day after it is closed (已截止). A form whose deadline is not known (另行通知)
closes with its campaign: after the campaign's `closes` day, by default 31 December of its year (or its
latest known deadline, if later) — a yearly programme's 另行通知 does not stay open into the next year.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import config
from bot.domain import regions

OFFSETS = (7, 3, 1, 0)  # reminder days before a deadline; 0 is the day itself


def parse_date(value: Any) -> date | None:
    if value in (None, "", "none", "null"):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip().replace("/", "-"))


def parse_time(value: Any, default: time = time(9, 0)) -> time:
    if not value:
        return default
    h, _, m = str(value).partition(":")
    return time(int(h), int(m or 0))


@dataclass(frozen=True)
class Campaign:
    data: Mapping[str, Any]

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def year(self) -> int:
        return int(self.data["year"])

    @property
    def region(self) -> str:
        return self.data.get("region") or regions.NATIONAL

    @property
    def title(self) -> str:
        return self.data.get("title", "")

    @property
    def number(self) -> str:
        return self.data.get("number", "")

    @property
    def tz(self) -> ZoneInfo:
        """The campaign's own zone where it names one, else JIEBANG_TIMEZONE (bot.config.local_zone)."""
        return ZoneInfo(self.data["timezone"]) if self.data.get("timezone") else config.local_zone()

    @property
    def remind_time(self) -> time:
        return parse_time(self.data.get("remind_time"))

    @property
    def remind_days(self) -> tuple[int, ...]:
        """Days before a deadline to remind on (0: the day itself); the campaign's own, else OFFSETS."""
        days = self.data.get("remind_days")
        return OFFSETS if days is None else tuple(int(n) for n in days)

    @property
    def closes(self) -> date | None:
        """The campaign's own last day, where its pack gives one."""
        return parse_date(self.data.get("closes"))

    def last_day(self) -> date:
        """The last day the campaign's work is open: `closes`, else 31 December of its year, or its latest
        known deadline if that is later."""
        if self.closes is not None:
            return self.closes
        return max([date(self.year, 12, 31), *(d for f in self.form_ids if (d := self.deadline(f)) is not None)])

    def form_closed(self, form_id: str, now: datetime) -> bool:
        """The form can no longer be handed in for this campaign: its deadline passed, or (deadline unknown,
        另行通知) the campaign is over."""
        d = self.deadline(form_id)
        if d is not None:
            return days_left(d, now, self.tz) < 0
        return local_today(now, self.tz) > self.last_day()

    def closed(self, now: datetime) -> bool:
        """Every form of the campaign is closed."""
        return all(self.form_closed(f, now) for f in self.form_ids)

    @property
    def form_ids(self) -> tuple[str, ...]:
        return tuple(self.data.get("forms", {}))

    @property
    def contacts(self) -> list[Mapping[str, Any]]:
        return list(self.data.get("contacts") or ())

    @property
    def city_contacts(self) -> list[Mapping[str, Any]]:
        return [c for c in self.contacts if not c.get("district")]

    @property
    def short_name(self) -> str:
        region = "全国" if self.region == regions.NATIONAL else regions._short(self.region)
        return f"{self.year}年度{region}"

    def form(self, form_id: str) -> Mapping[str, Any] | None:
        return self.data.get("forms", {}).get(form_id)

    def form_version(self, form_id: str) -> int | None:
        """The version of the form the notice prints (bot/dialogs/fields.py Form.version), where stated."""
        f = self.form(form_id)
        return int(f["version"]) if f and f.get("version") is not None else None

    def deadline(self, form_id: str) -> date | None:
        f = self.form(form_id)
        return parse_date(f.get("deadline")) if f else None

    def deadline_text(self, form_id: str) -> str:
        f = self.form(form_id)
        return (f or {}).get("deadline_text") or ""

    def destination(self, form_id: str, district: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """Where the stamped paper goes: the form's own place, or the user's district office."""
        f = self.form(form_id) or {}
        to = f.get("to")
        if to == "district":
            return district
        return to or None

    def district_for(self, region: Mapping[str, str | None]) -> Mapping[str, Any] | None:
        return regions.district_of(self.contacts, region.get("city"), region.get("county"))

    def specificity(self) -> int:
        if self.region == regions.NATIONAL:
            return 0
        return 2 if self.region in regions.SEPARATE_PLAN_CITIES else 1

    def applies_to(self, region: Mapping[str, str | None]) -> bool:
        if self.region == regions.NATIONAL:
            return True
        if self.region in regions.SEPARATE_PLAN_CITIES:
            return regions.plan_city(region.get("city"), region.get("county")) == self.region
        return self.region == region.get("province")

    # -- reminders --------------------------------------------------------------------------------

    def due_times(self, form_id: str, offsets: Iterable[int] | None = None) -> list[tuple[str, date, datetime]]:
        """(kind, deadline, due time in UTC) for each reminder of `form_id` (none without a deadline), on
        the campaign's `remind_days` unless `offsets` are given."""
        d = self.deadline(form_id)
        if d is None:
            return []
        offsets = self.remind_days if offsets is None else offsets
        at = self.remind_time
        return [(f"d{n}", d, datetime.combine(d - timedelta(days=n), at, self.tz).astimezone(UTC))
                for n in offsets]

    # -- edits (admin) ----------------------------------------------------------------------------

    def with_deadline(self, form_id: str, deadline: date | None, text: str | None = None) -> Campaign:
        data = copy.deepcopy(dict(self.data))
        f = data.setdefault("forms", {}).setdefault(form_id, {})
        f["deadline"] = deadline.isoformat() if deadline else None
        if text is not None:
            f["deadline_text"] = text
        elif deadline is not None and f.get("deadline_text") == "另行通知":
            f["deadline_text"] = ""
        elif deadline is None and not f.get("deadline_text"):
            f["deadline_text"] = "另行通知"
        return Campaign(data)


def local_today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def days_left(deadline: date, now: datetime, tz: ZoneInfo) -> int:
    """0 on the day itself; negative once closed."""
    return (deadline - local_today(now, tz)).days


def pick(campaigns: Iterable[Campaign], form_id: str, region: Mapping[str, str | None]) -> Campaign | None:
    """The campaign for this form and region: the newest year, then the most local one."""
    fits = [c for c in campaigns if form_id in c.form_ids and c.applies_to(region)]
    if not fits:
        return None
    return max(fits, key=lambda c: (c.year, c.specificity()))
