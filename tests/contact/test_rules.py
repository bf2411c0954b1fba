"""The contact gate's pure decision: rolling caps at their boundaries, hours in three zones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from abonent.contact.rules import Decision, GateRules, decide, resolve_zone

MSK = ZoneInfo("Europe/Moscow")
KGD = ZoneInfo("Europe/Kaliningrad")
VVO = ZoneInfo("Asia/Vladivostok")
RULES = GateRules()


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=dt.UTC)


def local(zone: ZoneInfo, y: int, mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=zone).astimezone(dt.UTC)


def test_working_day_inside_hours_sends_now() -> None:
    now = local(MSK, 2026, 12, 1, 12)  # Tuesday
    assert decide(RULES, now, MSK, []) == Decision("send", "allowed", now)


def test_working_day_opens_at_eight_and_closes_before_twenty_two() -> None:
    assert decide(RULES, local(MSK, 2026, 12, 1, 8), MSK, []).verdict == "send"
    early = decide(RULES, local(MSK, 2026, 12, 1, 7, 59), MSK, [])
    assert early == Decision("defer", "quiet_hours", local(MSK, 2026, 12, 1, 8))
    assert decide(RULES, local(MSK, 2026, 12, 1, 21, 59), MSK, []).verdict == "send"
    late = decide(RULES, local(MSK, 2026, 12, 1, 22), MSK, [])
    assert late == Decision("defer", "quiet_hours", local(MSK, 2026, 12, 2, 8))


def test_saturday_hours_are_nine_to_twenty() -> None:
    sat = decide(RULES, local(MSK, 2026, 12, 5, 8, 30), MSK, [])
    assert sat == Decision("defer", "quiet_hours", local(MSK, 2026, 12, 5, 9))
    evening = decide(RULES, local(MSK, 2026, 12, 5, 20), MSK, [])
    assert evening == Decision("defer", "quiet_hours", local(MSK, 2026, 12, 6, 9))
    sunday_night = decide(RULES, local(MSK, 2026, 12, 6, 20, 30), MSK, [])
    assert sunday_night == Decision("defer", "quiet_hours", local(MSK, 2026, 12, 7, 8))


def test_public_holiday_on_a_weekday_keeps_rest_hours() -> None:
    # 4 November 2026 is a Wednesday and the Day of National Unity.
    holiday = decide(RULES, local(MSK, 2026, 11, 4, 8, 30), MSK, [])
    assert holiday == Decision("defer", "quiet_hours", local(MSK, 2026, 11, 4, 9))
    # New Year holidays run to 8 January 2027 (Friday); the 9th and 10th are a weekend.
    new_year = decide(RULES, local(MSK, 2027, 1, 8, 20, 30), MSK, [])
    assert new_year == Decision("defer", "quiet_hours", local(MSK, 2027, 1, 9, 9))


def test_same_utc_moment_differs_by_zone() -> None:
    now = utc(2026, 12, 1, 5, 30)  # 06:30 Kaliningrad, 08:30 Moscow, 15:30 Vladivostok
    assert decide(RULES, now, KGD, []) == Decision(
        "defer", "quiet_hours", local(KGD, 2026, 12, 1, 8)
    )
    assert decide(RULES, now, MSK, []).verdict == "send"
    assert decide(RULES, now, VVO, []).verdict == "send"
    late = utc(2026, 12, 1, 12, 0)  # 22:00 Vladivostok
    assert decide(RULES, late, VVO, []) == Decision(
        "defer", "quiet_hours", local(VVO, 2026, 12, 2, 8)
    )
    assert decide(RULES, late, KGD, []).verdict == "send"


def test_day_cap_is_a_rolling_24_hours() -> None:
    sent = [local(MSK, 2026, 12, 1, 21), local(MSK, 2026, 12, 1, 21, 30)]
    # Past midnight the calendar day is new, but the 24 h window still holds two.
    nxt = decide(RULES, local(MSK, 2026, 12, 2, 9), MSK, sent)
    assert nxt == Decision("defer", "cap_day", local(MSK, 2026, 12, 2, 21))
    assert decide(RULES, local(MSK, 2026, 12, 2, 21), MSK, sent).verdict == "send"
    assert decide(RULES, local(MSK, 2026, 12, 2, 20, 59), MSK, sent).verdict == "defer"


def test_week_cap_spans_a_calendar_week_boundary() -> None:
    # Four on Friday/Saturday/Sunday: a Monday send would make five in seven days.
    sent = [
        local(MSK, 2026, 12, 4, 10),
        local(MSK, 2026, 12, 5, 10),
        local(MSK, 2026, 12, 6, 10),
        local(MSK, 2026, 12, 6, 11),
    ]
    monday = decide(RULES, local(MSK, 2026, 12, 7, 10), MSK, sent)
    assert monday == Decision("defer", "cap_week", local(MSK, 2026, 12, 11, 10))


def test_month_cap_is_31_days_and_lands_in_hours() -> None:
    # 16 sends, four a week, the last before 1 December: the 17th waits until the oldest ages out.
    sent = [
        local(MSK, 2026, 11, 2, 12) + dt.timedelta(days=7 * w, hours=h)
        for w in range(4)
        for h in (0, 26, 52, 78)
    ]
    assert len(sent) == 16
    now = local(MSK, 2026, 12, 1, 12)
    result = decide(RULES, now, MSK, sent)
    assert result.verdict == "defer"
    assert result.reason == "cap_month"
    # The oldest (2 Nov 12:00) leaves the 31-day window on 3 Dec 12:00 — a working Thursday.
    assert result.at == local(MSK, 2026, 12, 3, 12)


def test_cap_clearing_after_closing_moves_to_next_opening() -> None:
    sent = [local(MSK, 2026, 12, 1, 21, 50), local(MSK, 2026, 12, 1, 21, 55)]
    result = decide(RULES, local(MSK, 2026, 12, 2, 21, 0), MSK, sent)
    assert result == Decision("defer", "cap_day", local(MSK, 2026, 12, 2, 21, 50))
    # Friday evening sends clear on Saturday at 21:00, after the 20:00 weekend close.
    friday = [local(MSK, 2026, 12, 4, 21), local(MSK, 2026, 12, 4, 21, 30)]
    result = decide(RULES, local(MSK, 2026, 12, 5, 10), MSK, friday)
    assert result == Decision("defer", "cap_day", local(MSK, 2026, 12, 6, 9))


def test_block_refuses_whatever_the_hour() -> None:
    result = decide(RULES, local(MSK, 2026, 12, 1, 12), MSK, [], blocked_reason="bankruptcy")
    assert result == Decision("blocked", "bankruptcy", None)


def test_configured_numbers_apply() -> None:
    rules = GateRules(per_day=1)
    sent = [local(MSK, 2026, 12, 1, 10)]
    result = decide(rules, local(MSK, 2026, 12, 1, 12), MSK, sent)
    assert result == Decision("defer", "cap_day", local(MSK, 2026, 12, 2, 10))


NOW = utc(2026, 12, 1, 9)


def zone_of(account: str | None, customer: str | None, phone: str | None, op: str) -> ZoneInfo:
    found = resolve_zone(account, customer, phone, op, at=NOW)
    assert len(found.zones) == 1, found
    return found.zones[0]


def test_zone_resolution_order() -> None:
    # The account's zone beats the holder's, which beats the number.
    assert zone_of("Asia/Vladivostok", "Europe/Kaliningrad", "+74012000000", "Europe/Moscow") == VVO
    assert zone_of(None, "Asia/Vladivostok", "+74012000000", "Europe/Moscow") == VVO
    # A Kaliningrad landline number names one zone.
    assert zone_of(None, None, "+74012123456", "Europe/Moscow") == KGD
    assert zone_of(None, None, "+74232123456", "Europe/Moscow") == VVO
    # A Moscow mobile range (916) is in the DEF table: Moscow, not the operator's zone.
    found = resolve_zone(None, None, "+79161234567", "Asia/Vladivostok", at=NOW)
    assert (found.zones, found.source) == ((MSK,), "def_code")
    # 913 000 xxxx: Novosibirsk; 914 020 xxxx: Kamchatka.
    assert zone_of(None, None, "+79130001234", "Europe/Moscow") == ZoneInfo("Asia/Novosibirsk")
    assert zone_of(None, None, "+79140201234", "Europe/Moscow") == ZoneInfo("Asia/Kamchatka")
    # A name that is not a zone is passed over; garbage falls back on the operator's.
    assert zone_of("Not/AZone", None, None, "Europe/Moscow") == MSK
    assert zone_of(None, None, "garbage", "Asia/Vladivostok") == VVO


def test_mobile_range_outside_the_table_gets_only_the_hours_of_every_russian_zone() -> None:
    # 999: not in the table; phonenumbers names the whole +7 plan (UTC+2..+12). The notice may
    # go only when it is allowed from Kaliningrad to Kamchatka: 06:00-10:00 UTC on working days
    # (09:00-13:00 Moscow), 07:00-08:00 UTC on weekends and holidays.
    found = resolve_zone(None, None, "+79991234567", "Asia/Vladivostok", at=NOW)
    assert found.source == "phone"
    assert found.label == "Europe/Kaliningrad..Asia/Kamchatka"
    assert MSK in found.zones and VVO in found.zones  # the operator's among them
    tuesday = [
        (utc(2026, 12, 1, 5, 59), Decision("defer", "quiet_hours", utc(2026, 12, 1, 6))),
        (utc(2026, 12, 1, 6), Decision("send", "allowed", utc(2026, 12, 1, 6))),
        (utc(2026, 12, 1, 9, 59), Decision("send", "allowed", utc(2026, 12, 1, 9, 59))),
        (utc(2026, 12, 1, 10), Decision("defer", "quiet_hours", utc(2026, 12, 2, 6))),
    ]
    for now, expected in tuesday:
        assert decide(RULES, now, found, []) == expected, now
    # Saturday 5 December: one hour, 07:00-08:00 UTC; at 08:00 it waits for Sunday's.
    assert decide(RULES, utc(2026, 12, 5, 6), found, []).at == utc(2026, 12, 5, 7)
    assert decide(RULES, utc(2026, 12, 5, 8), found, []).at == utc(2026, 12, 6, 7)
    # Friday 21:00 Moscow (18:00 UTC), allowed for a Moscow number, is 06:00 on Saturday in
    # Kamchatka: it waits for Saturday's hour.
    assert decide(RULES, utc(2026, 12, 4, 18), found, []).at == utc(2026, 12, 5, 7)


def test_zones_with_no_common_hours_fall_back_on_the_operator() -> None:
    # A toll-free US number: zones from UTC-10 to UTC-4 (and more) share no 11-hour window.
    found = resolve_zone(None, None, "+18005550100", "Asia/Vladivostok", at=NOW)
    assert (found.zones, found.source) == ((VVO,), "operator")
    # Hours shorter than Russia's spread: the whole plan shares none, the operator decides.
    short = GateRules(rest_from=dt.time(10), rest_until=dt.time(19))
    found = resolve_zone(None, None, "+79991234567", "Europe/Moscow", at=NOW, rules=short)
    assert (found.zones, found.source) == ((MSK,), "operator")


def test_yakutia_range_keeps_its_three_zones_and_their_common_hours() -> None:
    # 914 10x: Yakutia, UTC+9..+11: at 09:00 in Yakutsk (11:00 Srednekolymsk) it is allowed in
    # every zone; at 20:30 in Yakutsk (22:30 Srednekolymsk) no longer.
    found = resolve_zone(None, None, "+79141001234", "Europe/Moscow", at=NOW)
    assert found.source == "def_code" and len(found.zones) == 3
    yak = ZoneInfo("Asia/Yakutsk")
    assert decide(RULES, local(yak, 2026, 12, 1, 9), found, []).verdict == "send"
    late = decide(RULES, local(yak, 2026, 12, 1, 20, 30), found, [])
    assert late.verdict == "defer" and late.at == local(yak, 2026, 12, 2, 8)
