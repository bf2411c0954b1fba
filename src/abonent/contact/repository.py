"""Every query of the contact gate: blocks, the queue of debt contacts, the decision log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import (
    Account,
    ContactBlock,
    ContactLogEntry,
    ContactMessage,
    Customer,
    Service,
)


async def lock_customer(session: AsyncSession, customer_id: int) -> Customer | None:
    """The customer's row under lock: one gate decision per debtor at a time (PostgreSQL; a
    SQLite writer holds the whole database anyway)."""
    return await session.scalar(
        select(Customer).where(Customer.id == customer_id).with_for_update()
    )


async def customer(session: AsyncSession, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


async def mobile_of(session: AsyncSession, account_id: int) -> str | None:
    return await session.scalar(
        select(Service.msisdn)
        .where(
            Service.account_id == account_id,
            Service.kind == "mobile",
            Service.status != "closed",
            Service.msisdn.is_not(None),
        )
        .order_by(Service.id)
        .limit(1)
    )


async def account(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


def _holding(now: dt.datetime) -> Sequence[ColumnElement[bool]]:
    return (
        ContactBlock.lifted_at.is_(None),
        ContactBlock.from_at <= now,
        or_(ContactBlock.until_at.is_(None), ContactBlock.until_at > now),
    )


async def active_block(
    session: AsyncSession, customer_id: int, now: dt.datetime
) -> ContactBlock | None:
    """The block holding now; an open-ended one before one with an end, else the longest."""
    rows = list(
        await session.scalars(
            select(ContactBlock).where(ContactBlock.customer_id == customer_id, *_holding(now))
        )
    )
    if not rows:
        return None
    return max(rows, key=lambda b: (b.until_at is None, b.until_at or now))


async def blocks(session: AsyncSession, customer_id: int) -> list[ContactBlock]:
    return list(
        await session.scalars(
            select(ContactBlock)
            .where(ContactBlock.customer_id == customer_id)
            .order_by(ContactBlock.id)
        )
    )


async def block_for_update(session: AsyncSession, block_id: int) -> ContactBlock | None:
    return await session.scalar(
        select(ContactBlock).where(ContactBlock.id == block_id).with_for_update()
    )


async def sent_times(
    session: AsyncSession, customer_id: int, category: str, since: dt.datetime
) -> list[dt.datetime]:
    return list(
        await session.scalars(
            select(ContactLogEntry.at).where(
                ContactLogEntry.customer_id == customer_id,
                ContactLogEntry.category == category,
                ContactLogEntry.verdict == "sent",
                ContactLogEntry.at > since,
            )
        )
    )


async def message_by_key(session: AsyncSession, key: str) -> ContactMessage | None:
    return await session.scalar(
        select(ContactMessage).where(ContactMessage.key == key).with_for_update()
    )


async def due_messages(session: AsyncSession, now: dt.datetime, limit: int) -> list[ContactMessage]:
    """Pending messages due by ``now``, locked; rows another release holds are skipped."""
    return list(
        await session.scalars(
            select(ContactMessage)
            .where(ContactMessage.status == "pending", ContactMessage.not_before <= now)
            .order_by(ContactMessage.customer_id, ContactMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


async def release_blocked(session: AsyncSession, customer_id: int, now: dt.datetime) -> int:
    result = await session.execute(
        update(ContactMessage)
        .where(ContactMessage.customer_id == customer_id, ContactMessage.status == "blocked")
        .values(status="pending", not_before=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def log_entries(
    session: AsyncSession,
    *,
    customer_id: int | None = None,
    account_id: int | None = None,
    verdict: str | None = None,
    limit: int = 200,
) -> list[ContactLogEntry]:
    query = select(ContactLogEntry)
    if verdict is not None:
        query = query.where(ContactLogEntry.verdict == verdict)
    if customer_id is not None:
        query = query.where(ContactLogEntry.customer_id == customer_id)
    if account_id is not None:
        query = query.where(ContactLogEntry.account_id == account_id)
    return list(await session.scalars(query.order_by(ContactLogEntry.id.desc()).limit(limit)))


async def messages_of(session: AsyncSession, customer_id: int) -> list[ContactMessage]:
    return list(
        await session.scalars(
            select(ContactMessage)
            .where(ContactMessage.customer_id == customer_id)
            .order_by(ContactMessage.id)
        )
    )


async def decision_counts(session: AsyncSession, since: dt.datetime) -> list[tuple[str, str, int]]:
    """(verdict, reason, how many) of the decisions made since ``since``, most first."""
    count = func.count()
    rows = await session.execute(
        select(ContactLogEntry.verdict, ContactLogEntry.reason, count)
        .where(ContactLogEntry.at >= since)
        .group_by(ContactLogEntry.verdict, ContactLogEntry.reason)
        .order_by(count.desc(), ContactLogEntry.verdict, ContactLogEntry.reason)
    )
    return [(str(v), str(r), int(n)) for v, r, n in rows]
