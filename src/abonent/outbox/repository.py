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


async def lock_claimed(
    session: AsyncSession, message_id: int, attempt: int
) -> OutboxMessage | None:
    """The message if it is still under the claim that made attempt number ``attempt``.

    Every claim counts an attempt, so (id, attempts) names one claim: a relay whose lease ran
    out and whose message another relay claimed since finds nothing here.
    """
    return await session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.attempts == attempt,
            OutboxMessage.status == "pending",
        )
        .with_for_update()
    )
