"""The promised payment's expiry job, run by the worker beside the outbox relay.

Every ``promised_payment.expire_every_seconds`` it ends the promised payments that are over
(repaid, or their term ran out: the unpaid part is then overdue debt) and purges USSD sessions
idle for a day. Safe to overlap with ``abonent promised expire`` or another worker: each row
is ended under its lock, and only once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.config import Settings
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.promised import service as promised
from abonent.ussd import service as ussd

log = structlog.get_logger(__name__)
BATCH = 500
SESSION_KEEP = dt.timedelta(days=1)


async def expire_once(db: Database) -> promised.Ended:
    """End everything that is over, a batch per unit of work."""
    repaid = expired = 0
    after = 0
    while True:

        async def unit(session: AsyncSession, start: int = after) -> tuple[promised.Ended, int]:
            return await promised.end_due(session, limit=BATCH, after_id=start)

        ended, last = await db.run(unit)
        repaid += ended.repaid
        expired += ended.expired
        if last == after:
            break
        after = last

    async def purge(session: AsyncSession) -> int:
        return await ussd.purge_sessions(session, clock.now() - SESSION_KEEP)

    await db.run(purge)
    return promised.Ended(repaid, expired)


async def run_forever(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    every = settings.promised_payment.expire_every_seconds
    if every <= 0:
        return
    while not stop.is_set():
        try:
            ended = await expire_once(db)
        except Exception:
            log.exception("promised.expire_failed")
        else:
            if ended.repaid or ended.expired:
                log.info("promised.expired", **ended.as_dict())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
