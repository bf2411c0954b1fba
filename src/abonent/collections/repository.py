"""Queries of the agency's payment side: what its agent collected and its assignments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Account, CollectionAgency, CollectionAssignment, Payment


async def agency_of_agent(session: AsyncSession, agent_id: int) -> CollectionAgency | None:
    return await session.scalar(
        select(CollectionAgency).where(CollectionAgency.agent_id == agent_id)
    )


async def agent_has_payments(session: AsyncSession, agent_id: int) -> bool:
    found = await session.scalar(select(Payment.id).where(Payment.agent_id == agent_id).limit(1))
    return found is not None


async def collected(
    session: AsyncSession, agent_id: int, start: dt.datetime, end: dt.datetime
) -> Sequence[tuple[Payment, str]]:
    """The agent's payments booked in [start, end), reversed ones included (the caller decides),
    with the account number."""
    rows = await session.execute(
        select(Payment, Account.number)
        .join(Account, Account.id == Payment.account_id)
        .where(Payment.agent_id == agent_id, Payment.created_at >= start, Payment.created_at < end)
        .order_by(Payment.created_at, Payment.id)
    )
    return [(payment, number) for payment, number in rows]


async def assignments(
    session: AsyncSession, agency_id: int, account_ids: Sequence[int]
) -> Sequence[CollectionAssignment]:
    if not account_ids:
        return []
    found = await session.scalars(
        select(CollectionAssignment).where(
            CollectionAssignment.agency_id == agency_id,
            CollectionAssignment.account_id.in_(sorted(set(account_ids))),
        )
    )
    return found.all()
