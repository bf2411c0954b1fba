"""Working days by the Russian production calendar, for legal deadlines and contact hours.

The calendar comes from PyPI's ``holidays`` (``country_holidays("RU")``), which carries the public
holidays, the days off moved by government decree and the Saturdays made working days in their
place; a figure that the law counts "in working days" (a claim registered by the next working day,
the debtor told of a hand-over within 30 working days) is counted here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _year(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


def is_working_day(day: dt.date) -> bool:
    """Mon–Fri that is no holiday and no moved day off, or a Saturday made a working day."""
    return bool(_year(day.year).is_working_day(day))


def is_holiday(day: dt.date) -> bool:
    """A public holiday or a day off moved onto a weekday (not an ordinary weekend)."""
    return day in _year(day.year)


def holiday_name(day: dt.date) -> str | None:
    name = _year(day.year).get(day)
    return str(name) if name is not None else None


def next_working_day(day: dt.date) -> dt.date:
    """The first working day strictly after ``day``."""
    nxt = day + dt.timedelta(days=1)
    while not is_working_day(nxt):
        nxt += dt.timedelta(days=1)
    return nxt


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The day that is ``count`` working days after ``day`` (``day`` itself not counted)."""
    if count < 0:
        raise ValueError("count must not be negative")
    current = day
    for _ in range(count):
        current = next_working_day(current)
    return current


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days in the half-open range (start, end]."""
    count = 0
    current = start
    while current < end:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
