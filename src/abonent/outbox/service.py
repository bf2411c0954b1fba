"""The transactional outbox: side effects written in the same transaction as their cause.

A relay delivers them afterwards (``abonent worker run``) in three steps, no transaction open
across the network: :func:`claim_due` takes a batch under a lease and commits, the relay sends,
:func:`record_outcomes` records the whole batch's results in one more unit. A relay that dies
between send and record leaves its lease to run out; the messages are then claimed and sent
again, with the same idempotency keys, so delivery is at least once and handlers must be safe
to run twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit import clock
from abonent.models import OutboxMessage
from abonent.outbox import repository

log = structlog.get_logger(__name__)

SMS_SEND = "sms.send"
SERVICE_RESTORED = "service.restored"
SERVICE_SUSPENDED = "service.suspended"
PAYMENT_BOOKED = "payment.booked"
PAYMENT_REVERSED = "payment.reversed"

LEASE_EXPIRED = "lease expired: the relay stopped between send and record; outcome unknown"

Outcome = Literal["done", "retry", "dead", "lost"]


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


@dataclass(frozen=True, slots=True)
class Queued:
    """One message for :func:`enqueue_many`."""

    topic: str
    payload: dict[str, Any]
    account_id: int | None = None
    dedupe_key: str | None = None


async def enqueue_many(session: AsyncSession, messages: Sequence[Queued]) -> int:
    """Queue many side effects in one statement (a nightly job's batch).

    No look-up of the dedupe keys: the caller knows they are new (a progress row written in the
    same unit of work says so); the unique constraint still guards them.
    """
    now = clock.now()
    await repository.insert_many(
        session,
        [(m.topic, m.payload, m.account_id, m.dedupe_key) for m in messages],
        same={"status": "pending", "attempts": 0, "available_at": now, "created_at": now},
    )
    return len(messages)


async def taken_dedupe_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Those of ``keys`` already queued: what a batch must leave out of :func:`enqueue_many`
    when it cannot know its keys are new."""
    return await repository.taken_dedupe_keys(session, keys)


@dataclass(frozen=True, slots=True)
class Claim:
    """A message a relay holds under a lease: plain data, to be used with no session open."""

    id: int
    topic: str
    payload: dict[str, Any]
    account_id: int | None
    attempt: int
    """This claim's attempt number (1 for the first send)."""

    @property
    def idempotency_key(self) -> str:
        # The same on every attempt, so a gateway that keeps keys delivers a re-send once.
        return f"outbox-{self.id}"


@dataclass(frozen=True, slots=True)
class Claimed:
    claims: list[Claim]
    dead: int = 0
    """Messages whose last allowed attempt was lost with its relay: given up, not claimed."""


async def claim_due(
    session: AsyncSession, *, limit: int, lease: dt.timedelta, max_attempts: int
) -> Claimed:
    """Claim up to ``limit`` due messages until now + ``lease``; the caller commits at once.

    A message found with an expired lease was lost between send and record: that attempt is
    recorded as such, and the message is claimed again unless it has used all its attempts.
    """
    now = clock.now()
    rows = await repository.lock_due(session, now, limit)
    claimed = _claimed(rows, max_attempts)
    await repository.take(session, [c.id for c in claimed.claims], now + lease)
    await repository.give_up(session, claimed.given_up, LEASE_EXPIRED)
    await repository.add_attempts(
        session,
        [{"message_id": i, "ok": False, "error": LEASE_EXPIRED, "at": now} for i in claimed.lost],
    )
    return Claimed(claimed.claims, len(claimed.given_up))


async def claim_due_on(
    connection: Any, *, limit: int, lease: dt.timedelta, max_attempts: int
) -> Claimed:
    """:func:`claim_due` as one statement on a driver connection with no transaction open
    (PostgreSQL, ``Database.statement_connection``): the statement is the unit of work.

    Measured on batches of 100 (bench_sms's outbox): ~8-11 µs of the relay's CPU per message,
    against ~24-29 µs for :func:`claim_due`'s unit (a session, BEGIN, the locking read, the
    lease update, COMMIT: four round trips where this is one).
    """
    now = clock.now()
    rows = await repository.claim_on(
        connection, now, limit, now + lease, max_attempts, LEASE_EXPIRED
    )
    claimed = _claimed(rows, max_attempts)
    return Claimed(claimed.claims, len(claimed.given_up))


@dataclass(frozen=True, slots=True)
class _Sorted:
    claims: list[Claim]
    lost: list[int]
    """Found with their lease run out: that attempt is recorded as lost."""
    given_up: list[int]
    """Lost on their last allowed attempt: dead, not claimed."""


def _claimed(rows: Sequence[Any], max_attempts: int) -> _Sorted:
    """The due rows (id, topic, payload, account, attempts before this claim, lease), sorted
    into claims, lost attempts and messages given up."""
    claims: list[Claim] = []
    lost: list[int] = []
    given_up: list[int] = []
    for id_, topic, payload, account_id, attempts, claimed_until in rows:
        if claimed_until is not None:
            lost.append(id_)
            log.warning("outbox.lease_expired", message_id=id_, attempt=attempts)
            if attempts >= max_attempts:
                given_up.append(id_)
                log.error("outbox.dead", message_id=id_, topic=topic)
                continue
        claims.append(Claim(id_, topic, dict(payload), account_id, attempts + 1))
    return _Sorted(claims, lost, given_up)


@dataclass(frozen=True, slots=True)
class Result:
    """What one attempt came to, as the relay hands it over to be recorded."""

    claim: Claim
    error: str | None = None
    permanent: bool = False
    """Retrying will not help: the message goes dead at once."""


async def record_outcomes(
    session: AsyncSession,
    results: Sequence[Result],
    *,
    max_attempts: int,
    retry_base_seconds: float,
) -> list[Outcome]:
    """Record a batch of attempts in the caller's one unit, one outcome per result, in order.

    Each is delivered (done), to retry after a doubling delay, or given up (dead); each leaves
    a row in the attempt history. 'lost': the lease ran out and another relay claimed the
    message since; it recorded this attempt as lost and owns the message now, so nothing is
    written for it here (the others in the batch are recorded all the same).
    """
    now = clock.now()
    # Most attempts succeed: those are marked done in one statement; only the failures are
    # loaded, for their backoff or their end.
    done = await repository.mark_done(
        session, [(r.claim.id, r.claim.attempt) for r in results if r.error is None], now
    )
    held = await repository.lock_claimed_many(
        session, [(r.claim.id, r.claim.attempt) for r in results if r.error is not None]
    )
    outcomes: list[Outcome] = []
    for result in results:
        message = held.get(result.claim.id)
        if result.claim.id in done:
            outcomes.append("done")
        elif message is not None:
            outcomes.append(
                _record(
                    message, result, now, max_attempts=max_attempts, retry_base=retry_base_seconds
                )
            )
        else:
            log.warning(
                "outbox.lease_lost",
                message_id=result.claim.id,
                attempt=result.claim.attempt,
                error=result.error,
            )
            outcomes.append("lost")
    await repository.add_attempts(
        session,
        [
            {"message_id": r.claim.id, "ok": r.error is None, "error": r.error, "at": now}
            for r, outcome in zip(results, outcomes, strict=True)
            if outcome != "lost"
        ],
    )
    return outcomes


async def record_delivered_on(connection: Any, claims: Sequence[Claim]) -> list[Outcome]:
    """:func:`record_outcomes` for a batch whose every attempt succeeded, as one statement on
    a driver connection with no transaction open (PostgreSQL): each is done, or lost when its
    lease ran out and another relay claimed it since. The same rows as ``record_outcomes``
    writes (tests/outbox/test_pg_relay.py); a batch with any failure goes that way instead."""
    now = clock.now()
    done = await repository.mark_delivered_on(connection, [(c.id, c.attempt) for c in claims], now)
    outcomes: list[Outcome] = []
    for claim in claims:
        if claim.id in done:
            outcomes.append("done")
        else:
            log.warning("outbox.lease_lost", message_id=claim.id, attempt=claim.attempt, error=None)
            outcomes.append("lost")
    return outcomes


def _record(
    message: OutboxMessage,
    result: Result,
    now: dt.datetime,
    *,
    max_attempts: int,
    retry_base: float,
) -> Outcome:
    error = result.error or "failed"
    message.claimed_until = None
    message.last_error = error
    if result.permanent or message.attempts >= max_attempts:
        message.status = "dead"
        log.error("outbox.dead", message_id=message.id, topic=message.topic, error=error)
        return "dead"
    delay = retry_base * 2 ** (message.attempts - 1)
    message.available_at = now + dt.timedelta(seconds=delay)
    log.warning("outbox.retry", message_id=message.id, error=error, in_s=delay)
    return "retry"


async def record_outcome(
    session: AsyncSession,
    claim: Claim,
    *,
    error: str | None,
    permanent: bool,
    max_attempts: int,
    retry_base_seconds: float,
) -> Outcome:
    """:func:`record_outcomes` for one attempt."""
    [outcome] = await record_outcomes(
        session,
        [Result(claim, error, permanent)],
        max_attempts=max_attempts,
        retry_base_seconds=retry_base_seconds,
    )
    return outcome
