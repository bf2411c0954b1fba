"""Queries over the outbox. No rules here, only reads (locking the rows they return)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import OutboxMessage


async def lock_due(session: AsyncSession, now: dt.datetime, limit: int) -> Sequence[OutboxMessage]:
    """Pending messages due by ``now`` and claimed by no live lease, oldest first, locked.

    ``SKIP LOCKED`` lets several relays on PostgreSQL share the queue: each takes rows the
    others are not claiming at this moment (SQLite has one writer and ignores the clause).
    """
    return (
        await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.available_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
            )
            .order_by(OutboxMessage.available_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def lock_claimed_many(
    session: AsyncSession, claims: Sequence[tuple[int, int]]
) -> dict[int, OutboxMessage]:
    """The messages still under the claims named by (message id, attempt), by id, locked.

    Every claim counts an attempt, so (id, attempts) names one claim: a relay whose lease ran
    out and whose message another relay claimed since finds nothing for it here. Locked in id
    order, so two relays recording overlapping batches cannot deadlock.
    """
    if not claims:
        return {}
    wanted = dict(claims)
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(wanted), OutboxMessage.status == "pending")
        .order_by(OutboxMessage.id)
        .with_for_update()
    )
    return {row.id: row for row in rows if row.attempts == wanted[row.id]}
