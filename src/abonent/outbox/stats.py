"""Outbox figures for the metrics scrape: one grouped query, no rows loaded."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit.metrics import OutboxRow
from abonent.models import OutboxMessage


async def by_topic_and_status(session: AsyncSession) -> list[OutboxRow]:
    rows = await session.execute(
        select(
            OutboxMessage.topic,
            OutboxMessage.status,
            func.count(),
            func.min(OutboxMessage.created_at),
        ).group_by(OutboxMessage.topic, OutboxMessage.status)
    )
    return [OutboxRow(topic, status, count, oldest) for topic, status, count, oldest in rows]
