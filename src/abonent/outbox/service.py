"""The transactional outbox: side effects written in the same transaction as their cause.

A worker relays them afterwards (``abonent worker run``); handlers are safe to run twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit import clock
from abonent.models import OutboxMessage

SMS_SEND = "sms.send"
SERVICE_RESTORED = "service.restored"
SERVICE_SUSPENDED = "service.suspended"
PAYMENT_BOOKED = "payment.booked"
PAYMENT_REVERSED = "payment.reversed"


async def enqueue(
    session: AsyncSession,
    topic: str,
    payload: dict[str, Any],
    *,
    account_id: int | None = None,
    dedupe_key: str | None = None,
    available_at: dt.datetime | None = None,
    fresh: bool = False,
) -> OutboxMessage | None:
    """Queue a side effect. With ``dedupe_key``, a second enqueue of the same key is a no-op.

    ``fresh``: the caller knows the key cannot exist yet (it names a row created in this very
    unit of work), so the look-up is skipped; the unique constraint still guards it.
    """
    if dedupe_key is not None and not fresh:
        found = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if found is not None:
            return None
    now = clock.now()
    message = OutboxMessage(
        topic=topic,
        payload=payload,
        account_id=account_id,
        dedupe_key=dedupe_key,
        status="pending",
        attempts=0,
        available_at=available_at or now,
        created_at=now,
    )
    session.add(message)
    return message
