"""The production calendar: holidays, moved days off and working Saturdays (2026–2027)."""

from __future__ import annotations

import datetime as dt

import pytest

from abonent.kit import calendar

D = dt.date


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 12, 1), True),  # Tuesday
        (D(2026, 12, 5), False),  # Saturday
        (D(2026, 12, 31), False),  # day off moved from 04.01.2026
        (D(2027, 1, 7), False),  # Christmas
        (D(2027, 1, 11), True),
        (D(2027, 2, 20), True),  # a Saturday made a working day (its day off moved to 22.02)
        (D(2027, 2, 22), False),
        (D(2027, 11, 5), False),
    ],
)
def test_is_working_day(day: dt.date, working: bool) -> None:
    assert calendar.is_working_day(day) is working


def test_holiday_is_not_a_plain_weekend() -> None:
    assert calendar.is_holiday(D(2027, 1, 7)) is True
    assert calendar.is_holiday(D(2026, 12, 5)) is False
    assert calendar.holiday_name(D(2027, 6, 12)) is not None
    assert calendar.holiday_name(D(2027, 6, 15)) is None


def test_next_working_day_over_the_new_year() -> None:
    # Thursday 31.12.2026 is a moved day off and 01–08.01.2027 the New Year holidays.
    assert calendar.next_working_day(D(2026, 12, 30)) == D(2027, 1, 11)
    assert calendar.next_working_day(D(2026, 12, 1)) == D(2026, 12, 2)


def test_add_working_days() -> None:
    assert calendar.add_working_days(D(2026, 12, 1), 0) == D(2026, 12, 1)
    # Fri 25.12 → Mon 28, Tue 29, Wed 30.12.
    assert calendar.add_working_days(D(2026, 12, 25), 3) == D(2026, 12, 30)
    assert calendar.add_working_days(D(2026, 12, 28), 3) == D(2027, 1, 11)
    assert calendar.add_working_days(D(2027, 2, 19), 1) == D(2027, 2, 20)
    with pytest.raises(ValueError):
        calendar.add_working_days(D(2027, 1, 1), -1)


def test_working_days_between() -> None:
    assert calendar.working_days_between(D(2026, 12, 28), D(2027, 1, 11)) == 3
    assert calendar.working_days_between(D(2027, 1, 11), D(2027, 1, 11)) == 0
