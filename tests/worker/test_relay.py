from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from abonent.channels.sms.gateway import MemorySmsGateway
from abonent.config import Settings
from abonent.db.uow import Database
from abonent.models import OutboxAttempt, OutboxMessage
from abonent.outbox.service import enqueue
from abonent.worker.relay import Relay, default_handlers


def relay(db: Database, sms: MemorySmsGateway, **worker: object) -> Relay:
    settings = Settings(worker={"retry_base_seconds": 10, "max_attempts": 3, **worker})
    return Relay(db, settings, default_handlers(settings, sms))


async def test_sms_delivered_once_and_dedupe_key_holds(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        await enqueue(s, "sms.send", {"to": "+79161234567", "text": "Привет"}, dedupe_key="k1")
        assert (
            await enqueue(s, "sms.send", {"to": "+79161234567", "text": "x"}, dedupe_key="k1")
            is None
        )
    sms = MemorySmsGateway()
    stats = await relay(db, sms).drain()
    assert stats.delivered == 1
    assert [(m.to, m.text) for m in sms.sent] == [("+79161234567", "Привет")]
    assert (await relay(db, sms).drain()).delivered == 0
    assert len(sms.sent) == 1


class FlakyGateway(MemorySmsGateway):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def send(self, *, sender: str, to: str, text: str, idempotency_key: str) -> str:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SMSC down")
        return await super().send(sender=sender, to=to, text=text, idempotency_key=idempotency_key)


async def test_failure_is_retried_later_with_backoff_then_delivered(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        await enqueue(s, "sms.send", {"to": "+79161234567", "text": "hi"})
    sms = FlakyGateway(failures=1)
    r = relay(db, sms)
    assert (await r.drain()).failed == 1
    assert (await r.drain()).delivered == 0  # not due yet: backoff
    clock.advance(seconds=11)
    assert (await r.drain()).delivered == 1
    async with db.session() as s:
        attempts = list(await s.scalars(select(OutboxAttempt).order_by(OutboxAttempt.id)))
        assert [a.ok for a in attempts] == [False, True]
        assert attempts[0].error == "ConnectionError: SMSC down"


async def test_gives_up_after_max_attempts_and_on_bad_payload(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        await enqueue(s, "sms.send", {"to": "+79161234567", "text": "hi"})
        await enqueue(s, "sms.send", {"text": "no recipient"})
        await enqueue(s, "no.such.topic", {})
    r = relay(db, FlakyGateway(failures=99))
    for _ in range(3):
        await r.drain()
        clock.advance(seconds=100)
    async with db.session() as s:
        statuses = list(await s.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))
        assert statuses == ["dead", "dead", "dead"]
        attempts = list(await s.scalars(select(OutboxMessage.attempts).order_by(OutboxMessage.id)))
        assert attempts == [3, 1, 1]


@pytest.mark.postgres_only
async def test_parallel_relays_deliver_each_message_once(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        for n in range(60):
            await enqueue(s, "sms.send", {"to": "+79161234567", "text": f"m{n}"})
    sms = MemorySmsGateway()
    relays = [relay(db, sms) for _ in range(4)]
    results = await asyncio.gather(*(r.drain() for r in relays))
    assert sum(r.delivered for r in results) == 60
    assert sorted(m.text for m in sms.sent) == sorted(f"m{n}" for n in range(60))
