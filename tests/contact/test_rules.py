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


def test_zone_resolution_order() -> None:
    assert resolve_zone("Asia/Vladivostok", "+74012000000", "Europe/Moscow") == VVO
    # A Kaliningrad landline number names one zone.
    assert resolve_zone(None, "+74012123456", "Europe/Moscow") == KGD
    assert resolve_zone(None, "+74232123456", "Europe/Moscow") == VVO
    # A mobile number names many zones: the operator's is used.
    assert resolve_zone(None, "+79161234567", "Asia/Vladivostok") == VVO
    assert resolve_zone("Not/AZone", None, "Europe/Moscow") == MSK
    assert resolve_zone(None, "garbage", "Asia/Vladivostok") == VVO
