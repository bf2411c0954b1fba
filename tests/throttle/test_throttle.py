"""The rate limiter: a refusal counts nothing, two racing requests cannot both take the last
place, and old hits are pruned by the worker's housekeeping."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import ThrottleHit
from abonent.throttle import service as throttle
from abonent.throttle.errors import RateLimited
from abonent.worker import housekeeping

HOUR = dt.timedelta(hours=1)


async def _hits(db: Database, key: str | None = None) -> int:
    async with db.session() as s:
        query = select(func.count()).select_from(ThrottleHit)
        if key is not None:
            query = query.where(ThrottleHit.key == key)
        return int(await s.scalar(query) or 0)


async def test_a_refused_hit_counts_nothing(db: Database, clock: FrozenClock) -> None:
    for _ in range(2):
        await db.run(lambda s: throttle.hit(s, "k", 2, HOUR))
    with pytest.raises(RateLimited) as refused:
        await db.run(lambda s: throttle.hit(s, "k", 2, HOUR))
    assert refused.value.retry_after_seconds == 3600
    assert await _hits(db, "k") == 2
    clock.advance(minutes=61)
    await db.run(lambda s: throttle.hit(s, "k", 2, HOUR))
    assert await _hits(db, "k") == 3


async def test_two_racing_requests_cannot_both_take_the_last_place(
    db: Database, clock: FrozenClock
) -> None:
    # The first request checks and records, then holds its unit open a moment (as a request
    # does while it sends the SMS it was counted for); the second checks meanwhile. Without the
    # key's lock (PostgreSQL) or the write lock (SQLite) the second saw no hit and passed too.
    first_in = asyncio.Event()

    async def first(session: AsyncSession) -> None:
        await throttle.hit(session, "otp-send:msisdn:+79160000001", 1, HOUR)
        first_in.set()
        await asyncio.sleep(0.3)

    async def second() -> str:
        await first_in.wait()
        try:
            await db.run(lambda s: throttle.hit(s, "otp-send:msisdn:+79160000001", 1, HOUR))
        except RateLimited:
            return "refused"
        return "passed"

    _, outcome = await asyncio.gather(db.run(first), second())
    assert outcome == "refused"
    assert await _hits(db, "otp-send:msisdn:+79160000001") == 1


async def test_housekeeping_prunes_only_hits_no_window_looks_at(
    db: Database, clock: FrozenClock
) -> None:
    await db.run(lambda s: throttle.record(s, "old"))
    clock.advance(days=2, minutes=1)
    await db.run(lambda s: throttle.record(s, "recent"))
    assert await housekeeping.prune_once(db) == 1
    assert (await _hits(db, "old"), await _hits(db, "recent")) == (0, 1)
    assert await housekeeping.prune_once(db) == 0


async def test_the_housekeeping_loop_stops_when_told(db: Database, clock: FrozenClock) -> None:
    await db.run(lambda s: throttle.record(s, "old"))
    clock.advance(days=3)
    stop = asyncio.Event()
    task = asyncio.create_task(housekeeping.run_forever(db, stop, every=0.05))
    for _ in range(100):
        if await _hits(db) == 0:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert await _hits(db) == 0
