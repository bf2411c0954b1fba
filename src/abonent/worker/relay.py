"""The outbox relay: delivers queued side effects, one message per unit of work.

On PostgreSQL several relays can run at once: each claims a message with
``FOR UPDATE SKIP LOCKED``. Delivery is at least once, so handlers must be safe to run twice
(the SMS handler is keyed by the message id; event handlers only record).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select

from abonent.channels.sms.gateway import SmsGateway
from abonent.config import Settings
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.models import OutboxAttempt, OutboxMessage
from abonent.outbox import service as outbox

log = structlog.get_logger(__name__)

Handler = Callable[[OutboxMessage], Awaitable[None]]


class PermanentFailure(Exception):
    """Retrying will not help (a malformed payload): the message goes dead at once."""


@dataclass
class RelayStats:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)


def default_handlers(settings: Settings, sms: SmsGateway) -> dict[str, Handler]:
    async def send_sms(message: OutboxMessage) -> None:
        payload = message.payload
        if not payload.get("to") or not payload.get("text"):
            raise PermanentFailure("sms.send needs 'to' and 'text'")
        await sms.send(sender=settings.sms_sender, to=str(payload["to"]), text=str(payload["text"]))

    async def record_event(message: OutboxMessage) -> None:
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


class Relay:
    def __init__(self, db: Database, settings: Settings, handlers: dict[str, Handler]) -> None:
        self.db = db
        self.settings = settings
        self.handlers = handlers

    async def deliver_one(self, stats: RelayStats) -> bool:
        """Claim and deliver one due message. False when nothing is due."""
        async with self.db.session(write=True) as session:
            now = clock.now()
            message = await session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.available_at <= now)
                .order_by(OutboxMessage.available_at, OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if message is None:
                return False
            handler = self.handlers.get(message.topic)
            error: str | None = None
            permanent = False
            try:
                if handler is None:
                    raise PermanentFailure(f"no handler for topic {message.topic!r}")
                await handler(message)
            except PermanentFailure as exc:
                error, permanent = str(exc), True
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            message.attempts += 1
            session.add(OutboxAttempt(message_id=message.id, ok=error is None, error=error, at=now))
            if error is None:
                message.status, message.processed_at, message.last_error = "done", now, None
                stats.delivered += 1
                stats.by_topic[message.topic] = stats.by_topic.get(message.topic, 0) + 1
            elif permanent or message.attempts >= self.settings.worker.max_attempts:
                message.status, message.last_error = "dead", error
                stats.dead += 1
                log.error("outbox.dead", message_id=message.id, topic=message.topic, error=error)
            else:
                delay = self.settings.worker.retry_base_seconds * 2 ** (message.attempts - 1)
                message.available_at = now + dt.timedelta(seconds=delay)
                message.last_error = error
                stats.failed += 1
                log.warning("outbox.retry", message_id=message.id, error=error, in_s=delay)
            return True

    async def drain(self, limit: int | None = None) -> RelayStats:
        """Deliver everything due now (at most ``limit`` messages)."""
        stats = RelayStats()
        done = 0
        while limit is None or done < limit:
            if not await self.deliver_one(stats):
                break
            done += 1
        return stats

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                stats = await self.drain(limit=500)
                busy = stats.delivered + stats.failed + stats.dead > 0
            except Exception:
                log.exception("outbox.relay_error")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.worker.poll_seconds)
