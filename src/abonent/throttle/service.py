"""``hit`` counts one event under a key and refuses once ``limit`` were counted in ``window``.

A refused hit is not counted, so a client hammering a closed door does not push it further
shut; the caller's unit of work commits the hit with the rest of the request.

A check and the record after it must not interleave with another request's under the same key,
or two requests both see ``limit - 1`` and both pass. SQLite's units of work already take the
write lock at BEGIN; on PostgreSQL (read committed) ``check`` takes a transaction-scoped
advisory lock on the key, held until the caller's unit ends, so the second request counts the
first one's hit.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit import clock
from abonent.models import ThrottleHit
from abonent.throttle.errors import RateLimited


async def count(session: AsyncSession, key: str, window: dt.timedelta) -> int:
    since = clock.now() - window
    found = await session.scalar(
        select(func.count())
        .select_from(ThrottleHit)
        .where(ThrottleHit.key == key, ThrottleHit.at > since)
    )
    return int(found or 0)


_KEY_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
PRUNE_AFTER = dt.timedelta(days=2)
"""Hits older than this are deleted by the worker: every window in use is an hour or a day."""


async def check(session: AsyncSession, key: str, limit: int, window: dt.timedelta) -> None:
    """Raise :class:`RateLimited` if ``limit`` hits were already counted, without counting.

    Callers that check several keys in one unit check them in the same order everywhere (the
    advisory locks are taken in that order)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_KEY_LOCK, {"key": key})
    now = clock.now()
    since = now - window
    rows = (
        await session.scalars(
            select(ThrottleHit.at)
            .where(ThrottleHit.key == key, ThrottleHit.at > since)
            .order_by(ThrottleHit.at.desc())
            .limit(limit)
        )
    ).all()
    if len(rows) >= limit:
        # The oldest of the last ``limit`` hits leaves the window first.
        retry = rows[-1] + window - now
        raise RateLimited(max(1, math.ceil(retry.total_seconds())))


async def record(session: AsyncSession, key: str) -> None:
    session.add(ThrottleHit(key=key, at=clock.now()))
    await session.flush()


async def hit(session: AsyncSession, key: str, limit: int, window: dt.timedelta) -> None:
    await check(session, key, limit, window)
    await record(session, key)


async def prune(session: AsyncSession, older_than: dt.timedelta) -> int:
    result = await session.execute(
        delete(ThrottleHit).where(ThrottleHit.at < clock.now() - older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)
