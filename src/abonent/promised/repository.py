"""Queries of the promised payment. No rules here, only reads (and its own row)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.ledger import chart
from abonent.ledger.chart import DEBIT
from abonent.models import JournalEntry, OpenItem, PromisedPayment
from abonent.statement import repository as statement_reads

# Open items the promised payment itself creates: not "charges" for the history average.
REPAYMENT_KIND = chart.ITEM_PROMISED_REPAYMENT
FEE_KIND = chart.ITEM_PROMISED_FEE
SOURCE_PREFIX = "promised:"


def _in_force() -> ColumnElement[bool]:
    # A literal, so that PostgreSQL may use the partial unique index (WHERE status = 'in_force').
    return PromisedPayment.status == literal_column("'in_force'")


# The statement shows the promised payment in force, and this domain builds on the statement:
# so these reads live in the statement's repository, and are the same ones here.
in_force = statement_reads.promised_in_force
owed = statement_reads.promised_owed
repayment_remaining = statement_reads.promised_repayment_left


async def taken_since(session: AsyncSession, account_id: int, since: dt.datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(PromisedPayment)
        .where(PromisedPayment.account_id == account_id, PromisedPayment.taken_at >= since)
    )
    return int(count or 0)


async def charges_between(
    session: AsyncSession, account_id: int, first: dt.date, last: dt.date
) -> int:
    """Sum of the charges booked on business dates ``first``..``last`` (inclusive), leaving out
    the promised payment's own repayment and fee."""
    total = await session.scalar(
        select(func.coalesce(func.sum(OpenItem.amount_minor), 0))
        .join(JournalEntry, JournalEntry.id == OpenItem.entry_id)
        .where(
            OpenItem.account_id == account_id,
            OpenItem.side == DEBIT,
            OpenItem.kind.not_in((REPAYMENT_KIND, FEE_KIND, chart.ITEM_REVERSAL)),
            JournalEntry.kind.in_(("charge", "fee")),
            JournalEntry.business_date >= first,
            JournalEntry.business_date <= last,
            or_(JournalEntry.source.is_(None), ~JournalEntry.source.startswith(SOURCE_PREFIX)),
        )
    )
    return int(total or 0)


async def due_to_end(
    session: AsyncSession, now: dt.datetime, limit: int, after_id: int = 0
) -> Sequence[int]:
    """Ids of promised payments in force that have ended: repayment cleared, or term over."""
    rows = await session.scalars(
        select(PromisedPayment.id)
        .outerjoin(OpenItem, OpenItem.id == PromisedPayment.repayment_item_id)
        .where(
            _in_force(),
            PromisedPayment.id > after_id,
            or_(
                PromisedPayment.expires_at <= now,
                func.coalesce(OpenItem.remaining_minor, 0) == 0,
            ),
        )
        .order_by(PromisedPayment.id)
        .limit(limit)
    )
    return rows.all()


async def history(
    session: AsyncSession, account_id: int, limit: int = 20
) -> Sequence[PromisedPayment]:
    return (
        await session.scalars(
            select(PromisedPayment)
            .where(PromisedPayment.account_id == account_id)
            .order_by(PromisedPayment.taken_at.desc(), PromisedPayment.id.desc())
            .limit(limit)
        )
    ).all()
