"""The outbox relay: claims a batch, sends it with no transaction open, records each outcome.

Three short steps per batch (see :mod:`abonent.outbox.service`): a claim unit that commits at
once, the sends (concurrent, each bounded by ``worker.send_timeout_seconds``) while no
connection is held, and one record unit per message. So a gateway that takes seconds never
holds SQLite's write lock or a PostgreSQL row lock, and payments book meanwhile. On PostgreSQL
several relays share the queue (``FOR UPDATE SKIP LOCKED`` plus the lease). Delivery is at
least once: handlers get the same idempotency key on every attempt at one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from abonent.channels.sms import outbound
from abonent.channels.sms.gateway import SmsGateway
from abonent.config import Settings
from abonent.db.uow import Database
from abonent.outbox import service as outbox
from abonent.outbox.service import Claim, Outcome

log = structlog.get_logger(__name__)

Handler = Callable[[Claim], Awaitable[None]]


class PermanentFailure(Exception):
    """Retrying will not help (a malformed payload): the message goes dead at once."""


@dataclass
class RelayStats:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    unrecorded: int = 0
    """Sent (or tried) but the outcome could not be recorded: the lease brings them back."""
    by_topic: dict[str, int] = field(default_factory=dict)

    @property
    def handled(self) -> int:
        return self.delivered + self.failed + self.dead + self.unrecorded


def default_handlers(
    settings: Settings, sms: SmsGateway, db: Database | None = None
) -> dict[str, Handler]:
    """The relay's handlers. With ``db`` every SMS is also tracked in sms_messages (sent, then
    delivered or not by the receipts); without it, it is only handed to the gateway."""

    async def send_sms(message: Claim) -> None:
        payload = message.payload
        if not payload.get("to") or not payload.get("text"):
            raise PermanentFailure("sms.send needs 'to' and 'text'")
        if db is None:
            await sms.send(
                sender=settings.sms_sender,
                to=str(payload["to"]),
                text=str(payload["text"]),
                idempotency_key=message.idempotency_key,
            )
            return
        try:
            await outbound.relay_sms(
                db,
                sms,
                outbox_message_id=message.id,
                sender=settings.sms_sender,
                to=str(payload["to"]),
                text=str(payload["text"]),
                category=str(payload.get("category") or "service"),
            )
        except outbound.SmsRefused as exc:
            raise PermanentFailure(f"refused by the SMSC: {exc}") from None

    async def record_event(message: Claim) -> None:
        # Channels that react to these (push, cabinet) subscribe later; until then the event is
        # logged so operations can follow restorations and reversals.
        log.info(
            "event", topic=message.topic, account_id=message.account_id, payload=message.payload
        )

    return {
        outbox.SMS_SEND: send_sms,
        outbox.PAYMENT_BOOKED: record_event,
        outbox.PAYMENT_REVERSED: record_event,
        outbox.SERVICE_RESTORED: record_event,
        outbox.SERVICE_SUSPENDED: record_event,
    }


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one send came to, before it is recorded."""

    error: str | None = None
    permanent: bool = False


class Relay:
    def __init__(self, db: Database, settings: Settings, handlers: dict[str, Handler]) -> None:
        self.db = db
        self.settings = settings
        self.handlers = handlers

    async def claim(self) -> outbox.Claimed:
        worker = self.settings.worker
        return await self.db.run(
            lambda session: outbox.claim_due(
                session,
                limit=worker.batch_size,
                lease=dt.timedelta(seconds=worker.lease_seconds),
                max_attempts=worker.max_attempts,
            )
        )

    async def send(self, claim: Claim) -> Attempt:
        """Run the handler with no database session open; any failure becomes the attempt's."""
        handler = self.handlers.get(claim.topic)
        if handler is None:
            return Attempt(f"no handler for topic {claim.topic!r}", permanent=True)
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

    async def record(self, claim: Claim, attempt: Attempt) -> Outcome:
        worker = self.settings.worker
        return await self.db.run(
            lambda session: outbox.record_outcome(
                session,
                claim,
                error=attempt.error,
                permanent=attempt.permanent,
                max_attempts=worker.max_attempts,
                retry_base_seconds=worker.retry_base_seconds,
            )
        )

    async def _deliver(self, claim: Claim, stats: RelayStats) -> None:
        attempt = await self.send(claim)
        try:
            outcome = await self.record(claim, attempt)
        except Exception:
            # Sent but not recorded: the lease runs out and the message is sent again, once,
            # with the same idempotency key. Nothing else in the batch is affected.
            log.exception("outbox.record_failed", message_id=claim.id, attempt=claim.attempt)
            stats.unrecorded += 1
            return
        if outcome == "done":
            stats.delivered += 1
            stats.by_topic[claim.topic] = stats.by_topic.get(claim.topic, 0) + 1
        elif outcome == "dead":
            stats.dead += 1
        elif outcome == "retry":
            stats.failed += 1

    async def deliver_batch(self, stats: RelayStats) -> int:
        """Claim, send and record one batch. Returns how many messages it claimed."""
        claimed = await self.claim()
        stats.dead += claimed.dead
        await asyncio.gather(*(self._deliver(claim, stats) for claim in claimed.claims))
        return len(claimed.claims) + claimed.dead

    async def drain(
        self, limit: int | None = None, stop: asyncio.Event | None = None
    ) -> RelayStats:
        """Deliver everything due now (about ``limit`` messages at most: whole batches)."""
        stats = RelayStats()
        taken = 0
        while limit is None or taken < limit:
            if stop is not None and stop.is_set():
                break
            claimed = await self.deliver_batch(stats)
            if claimed == 0:
                break
            taken += claimed
        return stats

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
