"""The 230-FZ art. 9 notices of hand-over still owed: what a supervisor must see before the
30 working days run out (the notice waits deferred by the contact gate, blocked, failed, or the
debtor has no phone), rather than find out from a complaint."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Account, CollectionAgency, CollectionAssignment

DONE = ("sent", "delivered")
"""Notice statuses that discharge the duty: the notice went out."""


@dataclass(frozen=True, slots=True)
class NoticeOwed:
    assignment_id: int
    account_number: str
    agency: str
    handed_over_on: dt.date
    due_on: dt.date
    status: str
    days_left: int
    """Calendar days to the last day allowed; negative once it has passed."""


async def handover_notices_owed(
    session: AsyncSession, *, as_of: dt.date, within_days: int
) -> list[NoticeOwed]:
    """Assignments with the agency now whose debtor's notice has not gone out and whose last
    day is at most ``within_days`` away (or passed), the earliest first."""
    rows = await session.execute(
        select(
            CollectionAssignment.id,
            Account.number,
            CollectionAgency.name,
            CollectionAssignment.handed_over_on,
            CollectionAssignment.notice_due_on,
            CollectionAssignment.notice_status,
        )
        .join(Account, Account.id == CollectionAssignment.account_id)
        .join(CollectionAgency, CollectionAgency.id == CollectionAssignment.agency_id)
        .where(
            CollectionAssignment.status == "active",
            CollectionAssignment.notice_status.not_in(DONE),
            CollectionAssignment.notice_due_on <= as_of + dt.timedelta(days=within_days),
        )
        .order_by(CollectionAssignment.notice_due_on, CollectionAssignment.id)
    )
    return [
        NoticeOwed(aid, number, agency, handed, due, status, (due - as_of).days)
        for aid, number, agency, handed, due, status in rows
    ]
