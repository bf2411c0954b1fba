"""The 3-year limitation (Civil Code art. 196, 200): each charge's term runs on its own.

The term starts at the end of the charge's due date; counted in years it ends on the same
month and day (art. 192), the last day of the month when there is no such day (29 February).
A charge is time-barred when the application is made after that day.
"""

from __future__ import annotations

import calendar
import datetime as dt


def limitation_ends(due_date: dt.date, years: int = 3) -> dt.date:
    year = due_date.year + years
    day = min(due_date.day, calendar.monthrange(year, due_date.month)[1])
    return dt.date(year, due_date.month, day)


def is_time_barred(due_date: dt.date, as_of: dt.date, years: int = 3) -> bool:
    return as_of > limitation_ends(due_date, years)
