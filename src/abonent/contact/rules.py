"""The contact gate's decision, pure: may a debt message go now, and if not, when.

Caps are counted over rolling windows ending at the moment of sending (24 h, 7 × 24 h,
31 × 24 h).  That is the stricter reading of "a day / a week / a month" (DESIGN §9): every
calendar day, Mon–Sun week and calendar month lies inside one such window, so a schedule that
keeps the rolling caps keeps the calendar ones too, while the calendar reading would let 4 go on
a Sunday and 4 more on the Monday after.  Hours are checked in the subscriber's local time by the
production calendar (kit/calendar.py): working days 08:00–22:00, weekends and holidays
09:00–20:00, the end exclusive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

from abonent.kit.calendar import is_working_day

Verdict = Literal["send", "defer", "blocked"]

# phonenumbers' geodata names a zone of the same standard offset for Kaliningrad (+7 401x), but
# Bucharest keeps summer time and Kaliningrad does not: off by an hour half the year.
_RU_ZONE_FIXES = {"Europe/Bucharest": "Europe/Kaliningrad"}


@dataclass(frozen=True)
class GateRules:
    per_day: int = 2
    per_week: int = 4
    per_month: int = 16
    working_from: dt.time = dt.time(8, 0)
    working_until: dt.time = dt.time(22, 0)
    rest_from: dt.time = dt.time(9, 0)
    rest_until: dt.time = dt.time(20, 0)

    def windows(self) -> tuple[tuple[dt.timedelta, int, str], ...]:
        return (
            (dt.timedelta(days=1), self.per_day, "cap_day"),
            (dt.timedelta(days=7), self.per_week, "cap_week"),
            (dt.timedelta(days=31), self.per_month, "cap_month"),
        )


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    at: dt.datetime | None  # when it may go (UTC): now for "send", later for "defer"


def resolve_zone(customer_tz: str | None, phone: str | None, operator_tz: str) -> ZoneInfo:
    """customers.timezone, else the phone number's only region zone, else the operator's."""
    if customer_tz:
        try:
            return ZoneInfo(customer_tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if phone:
        try:
            number = phonenumbers.parse(phone, "RU")
        except phonenumbers.NumberParseException:
            number = None
        if number is not None:
            zones = [z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
            if len(zones) == 1:
                zone = zones[0]
                if number.country_code == 7:
                    zone = _RU_ZONE_FIXES.get(zone, zone)
                return ZoneInfo(zone)
    return ZoneInfo(operator_tz)


def _hours(rules: GateRules, day: dt.date) -> tuple[dt.time, dt.time]:
    if is_working_day(day):
        return rules.working_from, rules.working_until
    return rules.rest_from, rules.rest_until


def next_allowed_hour(rules: GateRules, moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The first moment at or after ``moment`` inside the contact hours of ``zone``."""
    local = moment.astimezone(zone)
    day = local.date()
    for _ in range(370):
        start, end = _hours(rules, day)
        opens = dt.datetime.combine(day, start, zone)
        closes = dt.datetime.combine(day, end, zone)
        if local < opens:
            return opens.astimezone(dt.UTC)
        if local < closes:
            return local.astimezone(dt.UTC)
        day += dt.timedelta(days=1)
        local = dt.datetime.combine(day, dt.time(0, 0), zone)
    raise RuntimeError("no contact hours within a year")  # pragma: no cover - rules validated


def _cap_clears(rules: GateRules, moment: dt.datetime, sent: Sequence[dt.datetime]) -> dt.datetime:
    """The first moment at or after ``moment`` at which every rolling cap has room for one more."""
    latest = moment
    for window, cap, _ in rules.windows():
        inside = sorted(s for s in sent if s > moment - window)
        if len(inside) >= cap:
            # The message that must age out for one more to fit leaves the window at s + window.
            latest = max(latest, inside[len(inside) - cap] + window)
    return latest


def decide(
    rules: GateRules,
    now: dt.datetime,
    zone: ZoneInfo,
    sent: Sequence[dt.datetime],
    blocked_reason: str | None = None,
) -> Decision:
    """Send now, defer to the first allowed moment, or refuse while the customer is blocked."""
    if blocked_reason is not None:
        return Decision("blocked", blocked_reason, None)
    moment = now.astimezone(dt.UTC)
    reason = "allowed"
    for _ in range(1000):
        cleared = _cap_clears(rules, moment, sent)
        if cleared > moment and reason == "allowed":
            reason = next(
                name
                for window, cap, name in rules.windows()
                if sum(1 for s in sent if s > moment - window) >= cap
            )
        opened = next_allowed_hour(rules, cleared, zone)
        if opened > cleared and reason == "allowed":
            reason = "quiet_hours"
        if opened == moment:
            break
        moment = opened
    if moment == now.astimezone(dt.UTC):
        return Decision("send", "allowed", moment)
    return Decision("defer", reason, moment)
