"""Hourly housekeeping: rows kept only for a while are deleted once their while is over.

Today that is the rate-limit hits (``throttle_hits``): each OTP send, public look-up and notice
check leaves one, and nothing else ever removes them.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from abonent.db.uow import Database
from abonent.throttle import service as throttle

log = structlog.get_logger(__name__)

EVERY_SECONDS = 3600.0


async def prune_once(db: Database) -> int:
    """Delete the rate-limit hits no window looks at any more; how many went."""
    return await db.run(lambda session: throttle.prune(session, throttle.PRUNE_AFTER))


async def run_forever(db: Database, stop: asyncio.Event, every: float = EVERY_SECONDS) -> None:
    while not stop.is_set():
        try:
            pruned = await prune_once(db)
        except Exception:
            log.exception("housekeeping.failed")
        else:
            if pruned:
                log.info("housekeeping.pruned", throttle_hits=pruned)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
