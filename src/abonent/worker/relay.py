"""The outbox relay: claims a batch, sends it with no transaction open, records it in one unit.

Three short steps per batch (see :mod:`abonent.outbox.service`): a claim unit that commits at
once; the sends (concurrent, each bounded by ``worker.send_timeout_seconds``) while no
connection is held; one unit recording every outcome of the batch, with a row of attempt
history each. So a gateway that takes seconds never holds SQLite's write lock or a PostgreSQL
row lock, and payments book meanwhile. On PostgreSQL several relays share the queue (``FOR
UPDATE SKIP LOCKED`` plus the lease). Delivery is at least once: handlers get the same
idempotency key on every attempt at one message; a record that fails leaves the whole batch to
its lease, which brings it back to be sent again, once, with the same keys.

A topic has either a handler per message (``Handler``) or a ``BatchHandler`` that takes all the
batch's claims of its topic in one call: ``sms.send`` with a database does, so a batch of SMS
costs one record unit of ``sms_messages`` (and a read unit when some are retried) rather than a
few units per message. ``drain`` keeps ``in_flight`` batches going at once (see there).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.channels.sms import outbound
from abonent.channels.sms.gateway import SmsGateway
from abonent.config import Settings
from abonent.db.uow import Database
from abonent.outbox import service as outbox
from abonent.outbox.service import Claim, Outcome
from abonent.sms import service as sms_service
from abonent.worker import notices_job

log = structlog.get_logger(__name__)

Handler = Callable[[Claim], Awaitable[None]]


class PermanentFailure(Exception):
    """Retrying will not help (a malformed payload): the message goes dead at once."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one send came to, before it is recorded."""

    error: str | None = None
    permanent: bool = False


@dataclass(frozen=True, slots=True)
class BatchHandler:
    """Takes every claim of its topic in one batch: one ``Attempt`` per claim, in their order.

    It bounds each send by the ``worker.send_timeout_seconds`` itself (an unanswered one becomes
    a retryable attempt) and raises nothing it can tell apart by message; if it raises, every
    claim it was given gets that error as a retryable attempt.
    """

    send: Callable[[Sequence[Claim]], Awaitable[Sequence[Attempt]]]


@dataclass
class RelayStats:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    unrecorded: int = 0
    """Sent (or tried) but the outcome could not be recorded: the lease brings them back."""
    by_topic: dict[str, int] = field(default_factory=dict)

    def count(self, topic: str, outcome: Outcome) -> None:
        if outcome == "done":
            self.delivered += 1
            self.by_topic[topic] = self.by_topic.get(topic, 0) + 1
        elif outcome == "dead":
            self.dead += 1
        elif outcome == "retry":
            self.failed += 1

    @property
    def handled(self) -> int:
        return self.delivered + self.failed + self.dead + self.unrecorded


def default_handlers(
    settings: Settings, sms: SmsGateway, db: Database | None = None
) -> dict[str, Handler | BatchHandler]:
    """The relay's handlers. With ``db`` the SMS of a batch go out together and each is tracked
    in sms_messages (sent, then delivered or not by the receipts); without it, each is only
    handed to the gateway."""

    async def send_sms(message: Claim) -> None:
        to, text = _sms_fields(message)
        await sms.send(
            sender=_sender_of(message, settings),
            to=to,
            text=text,
            idempotency_key=message.idempotency_key,
        )

    async def record_event(message: Claim) -> None:
        # Channels that react to these (push, cabinet) subscribe later; until then the event is
        # logged so operations can follow restorations and reversals.
        log.info(
            "event", topic=message.topic, account_id=message.account_id, payload=message.payload
        )

    sms_handler: Handler | BatchHandler = send_sms
    if db is not None:
        sms_handler = BatchHandler(_sms_batch(db, sms, settings))
    handlers: dict[str, Handler | BatchHandler] = {
        outbox.SMS_SEND: sms_handler,
        outbox.PAYMENT_BOOKED: record_event,
        outbox.PAYMENT_REVERSED: record_event,
        outbox.SERVICE_RESTORED: record_event,
        outbox.SERVICE_SUSPENDED: record_event,
    }
    if db is not None:
        # The hand-over notice passes the contact gate: it needs the database.
        handlers[notices_job.TOPIC] = notices_job.handover_handler(db, settings)
        handlers[notices_job.DUNNING_TOPIC] = notices_job.dunning_handler(db, settings)
    return handlers


def _sender_of(message: Claim, settings: Settings) -> str:
    """The payload's sender name when it names one (debt notices do), else ``sms_sender``."""
    sender = message.payload.get("sender")
    if isinstance(sender, str) and 0 < len(sender) <= 11:
        return sender
    return settings.sms_sender


def _sms_fields(message: Claim) -> tuple[str, str]:
    payload = message.payload
    if not payload.get("to") or not payload.get("text"):
        raise PermanentFailure("sms.send needs 'to' and 'text'")
    return str(payload["to"]), str(payload["text"])


async def _sms_given_up(session: AsyncSession, claim: Claim, error: str | None) -> None:
    to = str(claim.payload.get("to") or "")
    category = str(claim.payload.get("category") or "service")
    if not to or not sms_service.is_category(category):
        return  # a malformed payload has no SMS to speak of (sms_messages keeps known ones)
    await sms_service.mark_failed(
        session,
        outbox_message_id=claim.id,
        to=to,
        category=category,
        reason=f"gave up after {claim.attempt} attempts: {error or 'failed'}",
    )


def _sms_batch(
    db: Database, sms: SmsGateway, settings: Settings
) -> Callable[[Sequence[Claim]], Awaitable[list[Attempt]]]:
    async def send(claims: Sequence[Claim]) -> list[Attempt]:
        attempts: dict[int, Attempt] = {}
        # Debt notices go under their own fixed sender name (notices.sender): one batch each.
        batches: dict[str, list[outbound.OutboundSms]] = {}
        for claim in claims:
            try:
                to, text = _sms_fields(claim)
            except PermanentFailure as exc:
                attempts[claim.id] = Attempt(str(exc), permanent=True)
                continue
            category = str(claim.payload.get("category") or "service")
            batches.setdefault(_sender_of(claim, settings), []).append(
                outbound.OutboundSms(claim.id, to, text, category, first_attempt=claim.attempt == 1)
            )
        for sender, batch in batches.items():
            outcomes = await outbound.relay_sms_batch(
                db,
                sms,
                sender=sender,
                batch=batch,
                send_timeout=settings.worker.send_timeout_seconds,
                concurrency=settings.sms.window,
            )
            attempts.update((o.outbox_message_id, _attempt_of(o)) for o in outcomes)
        return [attempts[claim.id] for claim in claims]

    return send


def _attempt_of(outcome: outbound.Outcome) -> Attempt:
    if outcome.sent:
        return Attempt()
    if outcome.permanent:
        return Attempt(f"refused by the SMSC: {outcome.error}", permanent=True)
    return Attempt(outcome.error or "not sent")


class Relay:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        handlers: Mapping[str, Handler | BatchHandler],
        *,
        in_flight: int = 4,
    ) -> None:
        self.db = db
        self.in_flight = in_flight
        self.settings = settings
        self.handlers = handlers

    async def claim(self) -> outbox.Claimed:
        worker = self.settings.worker
        lease = dt.timedelta(seconds=worker.lease_seconds)
        if not self.db.is_sqlite:
            # One statement, its own unit (outbox.claim_due_on): a batch's claim in one round
            # trip. A failure raises as the unit's would: nothing was claimed, or its lease
            # brings it back.
            async with self.db.statement_connection() as connection:
                return await outbox.claim_due_on(
                    connection,
                    limit=worker.batch_size,
                    lease=lease,
                    max_attempts=worker.max_attempts,
                )
        return await self.db.run(
            lambda session: outbox.claim_due(
                session,
                limit=worker.batch_size,
                lease=lease,
                max_attempts=worker.max_attempts,
            )
        )

    async def send(self, claim: Claim) -> Attempt:
        """Run the handler with no database session open; any failure becomes the attempt's."""
        handler = self.handlers.get(claim.topic)
        if handler is None:
            return Attempt(f"no handler for topic {claim.topic!r}", permanent=True)
        if isinstance(handler, BatchHandler):
            [attempt] = await self.send_batch(handler, [claim])
            return attempt
        try:
            async with asyncio.timeout(self.settings.worker.send_timeout_seconds):
                await handler(claim)
        except PermanentFailure as exc:
            return Attempt(str(exc), permanent=True)
        except TimeoutError:
            return Attempt(f"timeout: no answer in {self.settings.worker.send_timeout_seconds:g} s")
        except Exception as exc:
            return Attempt(f"{type(exc).__name__}: {exc}")
        return Attempt()

    async def send_batch(self, handler: BatchHandler, claims: Sequence[Claim]) -> list[Attempt]:
        try:
            attempts = list(await handler.send(claims))
        except Exception as exc:
            log.exception("outbox.batch_handler_failed", topic=claims[0].topic, size=len(claims))
            return [Attempt(f"{type(exc).__name__}: {exc}")] * len(claims)
        if len(attempts) != len(claims):
            raise AssertionError(f"a batch handler answered {len(attempts)} of {len(claims)}")
        return attempts

    async def send_all(self, claims: Sequence[Claim]) -> list[Attempt]:
        """Every claim's attempt, in order: per-message handlers concurrently with one call of
        each batch handler for all the claims of its topic."""
        batches: dict[str, list[int]] = {}
        singles: list[int] = []
        for n, claim in enumerate(claims):
            if isinstance(self.handlers.get(claim.topic), BatchHandler):
                batches.setdefault(claim.topic, []).append(n)
            else:
                singles.append(n)
        attempts: list[Attempt | None] = [None] * len(claims)

        async def one(n: int) -> None:
            attempts[n] = await self.send(claims[n])

        async def batch(topic: str, positions: list[int]) -> None:
            handler = self.handlers[topic]
            assert isinstance(handler, BatchHandler)
            done = await self.send_batch(handler, [claims[n] for n in positions])
            for n, attempt in zip(positions, done, strict=True):
                attempts[n] = attempt

        await asyncio.gather(*(one(n) for n in singles), *(batch(t, p) for t, p in batches.items()))
        return [a for a in attempts if a is not None]

    async def record(self, sent: Sequence[tuple[Claim, Attempt]]) -> list[Outcome]:
        """Record the batch's attempts in one unit of work; one outcome each, in order."""
        worker = self.settings.worker
        if not self.db.is_sqlite and all(a.error is None for _, a in sent):
            # Most batches: every send succeeded. One statement marks them done with their
            # history (outbox.record_delivered_on); a batch with any failure takes the unit
            # below, which also ends a given-up SMS in sms_messages.
            async with self.db.statement_connection() as connection:
                return await outbox.record_delivered_on(connection, [claim for claim, _ in sent])
        results = [outbox.Result(claim, a.error, a.permanent) for claim, a in sent]

        async def unit(session: AsyncSession) -> list[Outcome]:
            outcomes = await outbox.record_outcomes(
                session,
                results,
                max_attempts=worker.max_attempts,
                retry_base_seconds=worker.retry_base_seconds,
            )
            # An SMS the relay gives up on ends 'failed' in sms_messages in the same unit, so
            # `sms list --status failed` and the metric show it (the outbox and sms packages
            # stay apart; the relay is what knows both).
            for result, outcome in zip(results, outcomes, strict=True):
                claim = result.claim
                if outcome == "dead" and claim.topic == outbox.SMS_SEND:
                    await _sms_given_up(session, claim, result.error)
            return outcomes

        return await self.db.run(unit)

    async def deliver_batch(self, stats: RelayStats) -> int:
        """Claim, send and record one batch. Returns how many messages it claimed."""
        claimed = await self.claim()
        await self.finish(claimed, stats)
        return len(claimed.claims) + claimed.dead

    async def finish(self, claimed: outbox.Claimed, stats: RelayStats) -> None:
        """Send a claimed batch and record it."""
        stats.dead += claimed.dead
        claims = claimed.claims
        if not claims:
            return
        attempts = await self.send_all(claims)
        try:
            outcomes = await self.record(list(zip(claims, attempts, strict=True)))
        except Exception:
            # Sent but not recorded: the lease runs out and the batch is sent again, once,
            # with the same idempotency keys.
            log.exception(
                "outbox.record_failed", message_ids=[c.id for c in claims], size=len(claims)
            )
            stats.unrecorded += len(claims)
            return
        for claim, outcome in zip(claims, outcomes, strict=True):
            stats.count(claim.topic, outcome)

    async def drain(
        self, limit: int | None = None, stop: asyncio.Event | None = None
    ) -> RelayStats:
        """Deliver everything due now (about ``limit`` messages at most: whole batches).

        Up to ``in_flight`` batches at once: the next is claimed while the one before is still
        sending or recording, so the SMSC's window never drains between batches (a batch's last
        answers would otherwise wait out the peer's Nagle against our delayed ACK) and one
        batch's units of work overlap another's network waits.
        """
        stats = RelayStats()
        taken = 0
        running: set[asyncio.Task[None]] = set()
        due = True
        try:
            while True:
                while (
                    due
                    and len(running) < self.in_flight
                    and (limit is None or taken < limit)
                    and not (stop is not None and stop.is_set())
                ):
                    claimed = await self.claim()
                    if not claimed.claims and not claimed.dead:
                        due = False
                        break
                    taken += len(claimed.claims) + claimed.dead
                    running.add(asyncio.create_task(self.finish(claimed, stats)))
                if not running:
                    return stats
                finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    task.result()
        except asyncio.CancelledError:
            # The process stops: the batches in flight go with it; their leases bring them back.
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise
        except Exception:
            # A claim failed: the batches already sent are still recorded before it is raised.
            await asyncio.gather(*running, return_exceptions=True)
            raise

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                busy = (await self.drain(limit=500, stop=stop)).handled > 0
            except Exception:
                log.exception("outbox.relay_error")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.worker.poll_seconds)
