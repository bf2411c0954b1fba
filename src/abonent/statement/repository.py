"""The statement's queries: its open debit items, the one-query statement by number, and the
history pages behind it. No rules here: ``service.py`` builds the statement from these rows,
``reader.py`` runs :data:`BY_NUMBER` on the API's fast path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.ledger.chart import DEBIT, SUBSCRIBER_LEDGER
from abonent.models import (
    Account,
    AccountBalance,
    JournalEntry,
    OpenItem,
    Posting,
    PromisedPayment,
    Service,
)
from abonent.models.ledger import still_open


def _open_clause() -> ColumnElement[bool]:
    """Open debit items only.

    Written with literals, not bound parameters: PostgreSQL uses the partial index
    ``ix_open_items_open`` (``WHERE remaining_minor > 0``) only when it can prove the predicate,
    which a generic plan of a prepared statement with a parameter cannot.
    """
    debit: ColumnElement[str] = literal_column(f"'{DEBIT}'")
    return and_(OpenItem.side == debit, OpenItem.remaining_minor > literal_column("0"))


async def open_debits(session: AsyncSession, account_id: int) -> list[tuple[Any, ...]]:
    """(service_id, remaining_minor, due_date, service kind, service label) per open debit."""
    result = await session.execute(
        select(
            OpenItem.service_id,
            OpenItem.remaining_minor,
            OpenItem.due_date,
            Service.kind,
            Service.label,
        )
        .outerjoin(Service, Service.id == OpenItem.service_id)
        .where(OpenItem.account_id == account_id, _open_clause())
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in result]


# Built once: composing a SELECT costs more CPU than PostgreSQL spends answering it.
BY_NUMBER = (
    select(
        Account.number,
        Account.status,
        Account.currency,
        Account.credit_limit_minor,
        AccountBalance.balance_minor,
        OpenItem.service_id,
        OpenItem.remaining_minor,
        OpenItem.due_date,
        Service.kind,
        Service.label,
        # The promised payment in force (at most one: a partial unique index), on every row;
        # with the open items' ids, what is still owed on it needs no query of its own.
        OpenItem.id,
        PromisedPayment.amount_minor,
        PromisedPayment.fee_minor,
        PromisedPayment.currency,
        PromisedPayment.taken_at,
        PromisedPayment.expires_at,
        PromisedPayment.due_date,
        PromisedPayment.repayment_item_id,
        PromisedPayment.fee_item_id,
    )
    .select_from(Account)
    .outerjoin(AccountBalance, AccountBalance.account_id == Account.id)
    .outerjoin(OpenItem, and_(OpenItem.account_id == Account.id, _open_clause()))
    .outerjoin(Service, Service.id == OpenItem.service_id)
    .outerjoin(
        PromisedPayment,
        and_(
            PromisedPayment.account_id == Account.id,
            PromisedPayment.status == literal_column("'in_force'"),
        ),
    )
    .where(Account.number == bindparam("number"))
)
"""The account's head and one row per open debit item (or one row of NULLs): the whole
statement in one query. ``service.from_rows`` reads its rows by position."""


async def rows_by_number(session: AsyncSession, number: str) -> Sequence[Sequence[Any]]:
    return (await session.execute(BY_NUMBER, {"number": number})).all()


# --- history -------------------------------------------------------------------------------------


async def entries_before(
    session: AsyncSession, account_id: int, *, before_id: int | None, limit: int
) -> list[JournalEntry]:
    """Newest first: up to ``limit`` of the account's entries with ids below ``before_id``."""
    stmt = select(JournalEntry).where(JournalEntry.account_id == account_id)
    if before_id is not None:
        stmt = stmt.where(JournalEntry.id < before_id)
    return list((await session.scalars(stmt.order_by(JournalEntry.id.desc()).limit(limit))).all())


async def postings_of(session: AsyncSession, entry_ids: Sequence[int]) -> Sequence[Posting]:
    return (
        await session.scalars(
            select(Posting).where(Posting.entry_id.in_(entry_ids)).order_by(Posting.id)
        )
    ).all()


async def open_items_after(
    session: AsyncSession,
    account_id: int,
    *,
    only_open: bool,
    after_id: int | None,
    limit: int,
) -> Sequence[OpenItem]:
    """Oldest first; ``only_open`` keeps the items with something left (``remaining_minor > 0``,
    written as a literal so that PostgreSQL can use the partial index of open items)."""
    stmt = select(OpenItem).where(OpenItem.account_id == account_id)
    if only_open:
        stmt = stmt.where(still_open())
    if after_id is not None:
        stmt = stmt.where(OpenItem.id > after_id)
    return (await session.scalars(stmt.order_by(OpenItem.id).limit(limit))).all()


# The promised payment in force, as the statement shows it: read here so that the statement
# needs nothing of the promised-payment domain, which itself builds on the statement.
def _promised_in_force() -> ColumnElement[bool]:
    return PromisedPayment.status == literal_column("'in_force'")


async def promised_in_force(
    session: AsyncSession, account_id: int, *, for_update: bool = False
) -> PromisedPayment | None:
    stmt = select(PromisedPayment).where(
        PromisedPayment.account_id == account_id, _promised_in_force()
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found: PromisedPayment | None = await session.scalar(stmt)
    return found


async def promised_owed(session: AsyncSession, promised: PromisedPayment) -> int:
    """What remains of its repayment and fee items (one primary-key read of each)."""
    ids = [i for i in (promised.repayment_item_id, promised.fee_item_id) if i is not None]
    if not ids:
        return 0
    total = await session.scalar(
        select(func.coalesce(func.sum(OpenItem.remaining_minor), 0)).where(OpenItem.id.in_(ids))
    )
    return int(total or 0)


async def promised_repayment_left(session: AsyncSession, promised: PromisedPayment) -> int:
    if promised.repayment_item_id is None:
        return 0
    value = await session.scalar(
        select(OpenItem.remaining_minor).where(OpenItem.id == promised.repayment_item_id)
    )
    return int(value or 0)


async def subscriber_total_before(session: AsyncSession, account_id: int, start: Any) -> int:
    """Sum of the account's subscriber legs dated before ``start`` (debit positive)."""
    result = await session.execute(
        select(func.coalesce(func.sum(Posting.amount_minor), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            Posting.account_id == account_id,
            Posting.ledger == SUBSCRIBER_LEDGER,
            JournalEntry.business_date < start,
        )
    )
    return int(result.scalar_one())


async def subscriber_legs_between(
    session: AsyncSession, account_id: int, start: Any, end: Any
) -> list[tuple[Any, ...]]:
    """(business_date, entry id, kind, memo, amount) of subscriber legs dated start..end."""
    result = await session.execute(
        select(
            JournalEntry.business_date,
            JournalEntry.id,
            JournalEntry.kind,
            JournalEntry.memo,
            Posting.amount_minor,
        )
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            Posting.account_id == account_id,
            Posting.ledger == SUBSCRIBER_LEDGER,
            JournalEntry.business_date >= start,
            JournalEntry.business_date <= end,
        )
        .order_by(JournalEntry.business_date, JournalEntry.id, Posting.id)
    )
    return [tuple(r) for r in result]


async def subscriber_entries_before(
    session: AsyncSession,
    account_id: int,
    *,
    start: Any,
    end: Any,
    kind: str | None,
    before_id: int | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    """Newest first: (entry id, business_date, kind, memo, created_at, reverses_entry_id, sum of
    the subscriber legs) of the account's entries, dated start..end (either may be None)."""
    stmt = (
        select(
            JournalEntry.id,
            JournalEntry.business_date,
            JournalEntry.kind,
            JournalEntry.memo,
            JournalEntry.created_at,
            JournalEntry.reverses_entry_id,
            func.coalesce(func.sum(Posting.amount_minor), 0),
        )
        .outerjoin(
            Posting,
            and_(Posting.entry_id == JournalEntry.id, Posting.ledger == SUBSCRIBER_LEDGER),
        )
        .where(JournalEntry.account_id == account_id)
    )
    if start is not None:
        stmt = stmt.where(JournalEntry.business_date >= start)
    if end is not None:
        stmt = stmt.where(JournalEntry.business_date <= end)
    if kind is not None:
        stmt = stmt.where(JournalEntry.kind == kind)
    if before_id is not None:
        stmt = stmt.where(JournalEntry.id < before_id)
    stmt = (
        stmt.group_by(
            JournalEntry.id,
            JournalEntry.business_date,
            JournalEntry.kind,
            JournalEntry.memo,
            JournalEntry.created_at,
            JournalEntry.reverses_entry_id,
        )
        .order_by(JournalEntry.id.desc())
        .limit(limit)
    )
    return [tuple(r) for r in await session.execute(stmt)]
