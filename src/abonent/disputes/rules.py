"""The dates of a claim: how late it may come, when it is registered, when the answer is due.

Pure functions of dates and settings, so the boundaries are tested without a database.
"""

from __future__ import annotations

import calendar as month_days
import datetime as dt

from abonent.config import DisputeSettings
from abonent.kit import calendar


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clamped to the month's end (31.08 + 6 → 28.02)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = month_days.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def claim_last_day(billing_date: dt.date, settings: DisputeSettings) -> dt.date:
    """The last day a claim about a charge billed on ``billing_date`` is accepted (inclusive)."""
    return add_months(billing_date, settings.claim_months)


def registration_deadline(received_on: dt.date, settings: DisputeSettings) -> dt.date:
    """The last day a claim received on ``received_on`` may be registered: that many working
    days after it (``register_working_days`` = 1: the next working day); with 0, the day itself
    when it is a working day, else the next working day."""
    days = settings.register_working_days
    if days == 0:
        return (
            received_on
            if calendar.is_working_day(received_on)
            else calendar.next_working_day(received_on)
        )
    return calendar.add_working_days(received_on, days)


def registration_date(received_on: dt.date, settings: DisputeSettings) -> dt.date:
    """The day a claim is registered: the day it is received when that is a working day, else the
    next working day; never after the registration deadline."""
    day = (
        received_on
        if calendar.is_working_day(received_on)
        else calendar.next_working_day(received_on)
    )
    return min(day, registration_deadline(received_on, settings))


def answer_due(
    registered_on: dt.date, *, international: bool, settings: DisputeSettings
) -> dt.date:
    """Calendar days after registration; a term ending on a day off ends on the next working
    day (Civil Code art. 193)."""
    days = settings.answer_days_international if international else settings.answer_days
    due = registered_on + dt.timedelta(days=days)
    return due if calendar.is_working_day(due) else calendar.next_working_day(due)
