"""The contact gate's decision, pure: may a debt message go now, and if not, when.

Caps are counted over rolling windows ending at the moment of sending (24 h, 7 × 24 h,
31 × 24 h).  That is the stricter reading of "a day / a week / a month" (DESIGN §9): every
calendar day, Mon–Sun week and calendar month lies inside one such window, so a schedule that
keeps the rolling caps keeps the calendar ones too, while the calendar reading would let 4 go on
a Sunday and 4 more on the Monday after.  Hours are checked in the subscriber's local time by the
production calendar (kit/calendar.py): working days 08:00–22:00, weekends and holidays
09:00–20:00, the end exclusive; the zone is :func:`resolve_zone`'s, and a number whose zone is
uncertain gets only the hours that are allowed in every zone it could be in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

from abonent.contact import def_codes
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


ZoneSource = Literal["account", "customer", "def_code", "phone", "operator"]


@dataclass(frozen=True)
class ContactZone:
    """Where the subscriber is taken to be, and why.

    One zone: the contact hours are that zone's.  Several (a number that could be in any of
    them): a moment is allowed only when it is inside the hours in every one of them, so an
    uncertain zone never means a call at night.
    """

    zones: tuple[ZoneInfo, ...]
    source: ZoneSource

    @property
    def label(self) -> str:
        """What the contact log keeps (at most 64 characters)."""
        names = [z.key for z in self.zones]
        joined = "|".join(names)
        if len(joined) <= 64:
            return joined
        return f"{names[0]}..{names[-1]}"


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _offset(zone: ZoneInfo, at: dt.datetime) -> dt.timedelta:
    return at.astimezone(zone).utcoffset() or dt.timedelta(0)


def share_hours(rules: GateRules, zones: Sequence[ZoneInfo], at: dt.datetime) -> bool:
    """Whether every day has a moment inside the hours of all ``zones``: true when the zones lie
    closer together than the shorter of the working-day and rest-day windows.  On the same local
    date the windows, shifted by each zone's offset, then overlap (Russia keeps one calendar and
    no summer time, so the same date is the same kind of day everywhere)."""
    offsets = [_offset(z, at) for z in zones]
    spread = max(offsets) - min(offsets)
    day = dt.date(2000, 1, 1)

    def length(start: dt.time, end: dt.time) -> dt.timedelta:
        return dt.datetime.combine(day, end) - dt.datetime.combine(day, start)

    shortest = min(
        length(rules.working_from, rules.working_until), length(rules.rest_from, rules.rest_until)
    )
    return spread < shortest


def _phone_zones(phone: str) -> tuple[tuple[ZoneInfo, ...], ZoneSource] | None:
    try:
        number = phonenumbers.parse(phone, "RU")
    except phonenumbers.NumberParseException:
        return None
    national = str(number.national_number)
    if number.country_code == 7 and phonenumbers.region_code_for_number(number) == "RU":
        registered = def_codes.zones_of(national)
        if registered is not None:
            return tuple(ZoneInfo(z) for z in registered), "def_code"
    names = [z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    if number.country_code == 7:
        names = [_RU_ZONE_FIXES.get(z, z) for z in names]
    zones = tuple(z for z in (_zone(n) for n in dict.fromkeys(names)) if z is not None)
    return (zones, "phone") if zones else None


def resolve_zone(
    account_tz: str | None,
    customer_tz: str | None,
    phone: str | None,
    operator_tz: str,
    *,
    at: dt.datetime,
    rules: GateRules | None = None,
) -> ContactZone:
    """The subscriber's local time zone for the contact hours, in this order:

    1. the account's own zone (``accounts.timezone``), else the holder's (``customers.timezone``):
       set by staff, they beat any guess from the number;
    2. the phone number's region: for a Russian mobile number the DEF code and range
       (:mod:`abonent.contact.def_codes`; a region in several zones, Yakutia, keeps them all),
       for a landline the one zone ``phonenumbers`` names;
    3. a number ``phonenumbers`` names several zones for (every Russian mobile number of a
       range the table does not hold: the whole +7 plan, UTC+2 to UTC+12) keeps them all too;
    4. else the operator's zone (``ABONENT_TIMEZONE``).

    Several zones: the notice goes only at a moment allowed in every one of them, which is the
    operator's rule made safe where the zone is uncertain (a Moscow operator would otherwise
    send at 21:00 Moscow time, 06:00 in Kamchatka). Kept only when they share some hours every
    day (``share_hours``: Russia's 10 hours of spread leave 09:00–13:00 Moscow time on working
    days, 10:00–11:00 on weekends and holidays); otherwise the operator's zone decides.
    A stored name that is not a zone is passed over.  ``at`` gives the zones' offsets."""
    rules = rules or GateRules()
    staff_set: tuple[tuple[str | None, ZoneSource], ...] = (
        (account_tz, "account"),
        (customer_tz, "customer"),
    )
    for name, source in staff_set:
        zone = _zone(name)
        if zone is not None:
            return ContactZone((zone,), source)
    found = _phone_zones(phone) if phone else None
    if found is not None:
        zones, source = found
        if len(zones) == 1 or share_hours(rules, zones, at):
            # West to east, so that a label cut to its ends names the extremes.
            ordered = sorted(zones, key=lambda z: (_offset(z, at), z.key))
            return ContactZone(tuple(ordered), source)
    return ContactZone((ZoneInfo(operator_tz),), "operator")


def _hours(rules: GateRules, day: dt.date) -> tuple[dt.time, dt.time]:
    if is_working_day(day):
        return rules.working_from, rules.working_until
    return rules.rest_from, rules.rest_until


def _next_in(rules: GateRules, moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
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


def _zones(zone: ZoneInfo | ContactZone) -> tuple[ZoneInfo, ...]:
    return (zone,) if isinstance(zone, ZoneInfo) else zone.zones


def next_allowed_hour(
    rules: GateRules, moment: dt.datetime, zone: ZoneInfo | ContactZone
) -> dt.datetime:
    """The first moment at or after ``moment`` inside the contact hours of ``zone`` (of every one
    of its zones)."""
    zones = _zones(zone)
    candidate = moment.astimezone(dt.UTC)
    # Each round moves to the latest of the zones' next openings; zones that share hours every
    # day (resolve_zone keeps only such) meet within two rounds a day.
    for _ in range(100):
        later = max(_next_in(rules, candidate, z) for z in zones)
        if later == candidate:
            return candidate
        candidate = later
    raise RuntimeError("the zones share no contact hours")  # pragma: no cover - share_hours


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
    zone: ZoneInfo | ContactZone,
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
