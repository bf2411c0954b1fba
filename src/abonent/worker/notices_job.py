"""Debt notices in the worker: the ``collections.notice`` and ``dunning.notice`` handlers and
the release of deferred notices.

``dunning.notice`` is what the nightly ladder run decided (one message per account, step and
run date, covering every item of the account due for that step; queued set-based in the run's
own unit, so the run stays one pass over the debt); here each becomes the debt notice with its
verification code, through the same gate, keyed per account, step and run date so that a
re-delivered message sends nothing twice. A notice whose debt was paid in the meantime, or for
an account with no phone, ends here with nothing sent (logged, not retried).

``collections.notice`` (queued by a hand-over, 230-FZ art. 9) goes through the contact gate
like every debt contact: sent now (its SMS queued in the outbox), or deferred; the assignment's
``notice_status`` says which ('sent'; 'queued' while deferred or blocked; 'failed' when the
debtor has no phone). Every ``notices.release_every_seconds`` the deferred contacts that are due
go through the gate again, a batch per unit of work; on PostgreSQL several workers share them
(``FOR UPDATE SKIP LOCKED``), and each message's SMS has the dedupe key ``contact:<id>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import service as accounts
from abonent.collections import service as collections
from abonent.config import Settings
from abonent.contact.errors import NoPhone
from abonent.contact.service import Outcome
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.actor import SYSTEM
from abonent.notices import service as notices
from abonent.notices.errors import NothingOwed
from abonent.outbox.service import Claim

log = structlog.get_logger(__name__)
TOPIC = "collections.notice"
DUNNING_TOPIC = "dunning.notice"
BATCH = 200


async def _record_handover(
    session: AsyncSession, outcome: Outcome | None, assignment_id: int
) -> None:
    if outcome is None:
        await collections.set_notice_status(session, assignment_id, "failed", actor=SYSTEM)
        return
    if outcome.message.status == "sent":
        await collections.set_notice_status(session, assignment_id, "sent", actor=SYSTEM)
    elif outcome.message.status == "cancelled":
        await collections.set_notice_status(session, assignment_id, "failed", actor=SYSTEM)


def handover_handler(db: Database, settings: Settings) -> Callable[[Claim], Awaitable[None]]:
    async def handle(claim: Claim) -> None:
        payload = claim.payload
        assignment_id = payload.get("assignment_id")
        if not isinstance(assignment_id, int):
            raise ValueError("collections.notice needs an assignment_id")

        async def unit(session: AsyncSession) -> None:
            outcome = await notices.send_handover_notice(
                session,
                assignment_id,
                agency=str(payload.get("agency") or ""),
                agency_inn=str(payload.get("agency_inn") or ""),
                now=clock.now(),
                settings=settings,
            )
            await _record_handover(session, outcome, assignment_id)

        await db.run(unit)

    return handle


def dunning_step_key(payload: dict[str, Any]) -> str:
    """The step under which the gate keys a ladder notice: ``<step>:<run date>``, one notice
    per account, step and night (``dunning/notify.py``). A message queued before the notices
    were per account names its open item instead, and keeps the key it was queued under."""
    step, run_date, item = payload.get("step"), payload.get("run_date"), payload.get("open_item_id")
    if not isinstance(step, str) or not step:
        raise ValueError("dunning.notice needs a step")
    if isinstance(item, int) and not isinstance(item, bool):
        return f"{step}:{item}"
    if not isinstance(run_date, str):
        raise ValueError("dunning.notice needs a run_date")
    return f"{step}:{dt.date.fromisoformat(run_date).isoformat()}"


def dunning_handler(db: Database, settings: Settings) -> Callable[[Claim], Awaitable[None]]:
    async def handle(claim: Claim) -> None:
        if claim.account_id is None:
            raise ValueError("dunning.notice needs an account")
        account_id = claim.account_id
        step = dunning_step_key(claim.payload)

        async def unit(session: AsyncSession) -> None:
            account = await accounts.account_or_none(session, account_id)
            if account is None:
                raise ValueError(f"dunning.notice for unknown account {account_id}")
            try:
                await notices.send_debt_notice(
                    session, account, step, clock.now(), settings=settings
                )
            except (NothingOwed, NoPhone) as exc:
                log.info("dunning.notice_not_sent", account_id=account_id, reason=exc.code)

        await db.run(unit)

    return handle


@dataclass
class Released:
    sent: int = 0
    deferred: int = 0
    blocked: int = 0
    cancelled: int = 0

    def add(self, verdict: str) -> None:
        if verdict in ("sent", "deferred", "blocked", "cancelled"):
            setattr(self, verdict, getattr(self, verdict) + 1)


async def release_once(db: Database, settings: Settings) -> Released:
    """Everything due now through the gate again, a batch per unit, until none is due."""
    total = Released()
    while True:

        async def unit(session: AsyncSession) -> list[str]:
            done = await notices.release_due(session, clock.now(), settings=settings, limit=BATCH)
            for outcome in done:
                assignment_id = notices.assignment_of(outcome.message)
                if assignment_id is not None:
                    await _record_handover(session, outcome, assignment_id)
            return [o.verdict for o in done]

        verdicts = await db.run(unit)
        for verdict in verdicts:
            total.add(verdict)
        # A batch that only deferred again is not due any more: the loop ends when none is.
        if len(verdicts) < BATCH:
            return total


async def sync_handover_deliveries(db: Database) -> int:
    """Copy the delivery receipts of hand-over notices onto their assignments (230-FZ art. 9:
    the notice is recorded with its delivery status). Returns how many assignments changed."""
    changed = 0
    after = 0
    while True:

        async def unit(session: AsyncSession, after: int = after) -> tuple[int, list[int]]:
            waiting = await collections.notices_awaiting_delivery(
                session, after_id=after, limit=BATCH
            )
            outcomes = await notices.handover_deliveries(session, waiting)
            for assignment_id, status in outcomes.items():
                await collections.set_notice_status(session, assignment_id, status, actor=SYSTEM)
            return len(outcomes), waiting

        done, page = await db.run(unit)
        changed += done
        if len(page) < BATCH:
            return changed
        after = page[-1]


async def run_forever(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    every = settings.notices.release_every_seconds
    if every <= 0:
        return
    while not stop.is_set():
        try:
            done = await release_once(db, settings)
            await sync_handover_deliveries(db)
        except Exception:
            log.exception("notices.release_failed")
        else:
            if done.sent or done.deferred or done.blocked or done.cancelled:
                log.info("notices.released", **done.__dict__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
