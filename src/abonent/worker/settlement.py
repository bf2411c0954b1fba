"""The settlement job, run by the worker beside the outbox relay.

A card payment whose outcome the acquirer has not told us (a timeout, a lost webhook, a payer
who closed the page) must not wait for someone to remember ``abonent payments settle``: the
worker asks again every ``worker.settle_every_seconds``. Runs may overlap with the CLI or
another worker safely (see :func:`abonent.payments.acquiring.service.settle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import structlog

from abonent.config import Settings
from abonent.db.uow import Database
from abonent.kit.errors import AbonentError
from abonent.payments.acquiring.provider import AcquiringProvider
from abonent.payments.acquiring.service import SettleSummary, build_provider, settle

log = structlog.get_logger(__name__)


async def settle_once(
    db: Database, settings: Settings, provider: AcquiringProvider
) -> SettleSummary | None:
    """One settlement run; None when it failed (logged: the next run tries again)."""
    older_than = dt.timedelta(minutes=settings.worker.settle_pending_after_minutes)
    try:
        summary = await settle(db, provider, older_than=older_than)
    except Exception:
        log.exception("settlement.failed")
        return None
    if summary.examined or summary.idempotency_keys_purged:
        log.info("settlement.done", **summary.as_dict())
    return summary


async def run_forever(
    db: Database,
    settings: Settings,
    stop: asyncio.Event,
    *,
    provider: AcquiringProvider | None = None,
) -> None:
    every = settings.worker.settle_every_seconds
    if every <= 0:
        return
    if provider is None:
        try:
            provider = build_provider(db, settings)
        except AbonentError:
            # A misconfigured acquirer must not take the outbox relay down with it.
            log.exception("settlement.no_provider")
            return
    while not stop.is_set():
        await settle_once(db, settings, provider)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
