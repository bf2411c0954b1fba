"""The claim's dates: the 6-month window and the deadlines over the production calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from abonent.config import DisputeSettings
from abonent.disputes import rules

D = dt.date
S = DisputeSettings()


@pytest.mark.parametrize(
    ("billed", "last"),
    [
        (D(2026, 5, 15), D(2026, 11, 15)),
        (D(2026, 8, 31), D(2027, 2, 28)),
        (D(2026, 12, 31), D(2027, 6, 30)),
        (D(2026, 7, 1), D(2027, 1, 1)),
    ],
)
def test_claim_window_is_six_calendar_months(billed: dt.date, last: dt.date) -> None:
    assert rules.claim_last_day(billed, S) == last


@pytest.mark.parametrize(
    ("received", "registered", "due", "due_international"),
    [
        # New Year 2027: 31.12.2026 and 01–10.01.2027 are days off.
        (D(2026, 12, 31), D(2027, 1, 11), D(2027, 2, 10), D(2027, 3, 12)),
        (D(2027, 1, 5), D(2027, 1, 11), D(2027, 2, 10), D(2027, 3, 12)),
        # A working day registers the same day.
        (D(2026, 11, 18), D(2026, 11, 18), D(2026, 12, 18), D(2027, 1, 18)),
        # May 2027: 1–3 May off, registered on Tuesday the 4th.
        (D(2027, 5, 1), D(2027, 5, 4), D(2027, 6, 3), D(2027, 7, 5)),
        # 30 days from 09.04.2027 end on Sunday 09.05 (Victory Day); 10.05 is off too.
        (D(2027, 4, 9), D(2027, 4, 9), D(2027, 5, 11), D(2027, 6, 8)),
    ],
)
def test_registration_and_answer_due(
    received: dt.date, registered: dt.date, due: dt.date, due_international: dt.date
) -> None:
    assert rules.registration_date(received, S) == registered
    assert rules.answer_due(registered, international=False, settings=S) == due
    assert rules.answer_due(registered, international=True, settings=S) == due_international
