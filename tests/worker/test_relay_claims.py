"""The relay sends with no transaction open: a slow gateway holds up no writer, a relay that dies
between send and record costs one re-send with the same key, two relays never share a message."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text

from abonent.channels.sms.gateway import MemorySmsGateway
from abonent.config import Settings, WorkerSettings
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.models import OutboxAttempt, OutboxMessage
from abonent.outbox.service import LEASE_EXPIRED, Claim, Outcome, enqueue
from abonent.payments.service import PaymentRequest, book_payment
from abonent.worker.relay import Attempt, Relay, default_handlers
from tests.factories import make_account

AGENT = Actor("agent:BANK", "integration")
LEASE = 120


def settings(**worker: object) -> Settings:
    return Settings(
        worker={"retry_base_seconds": 10, "max_attempts": 3, "lease_seconds": LEASE, **worker}
    )


def relay(db: Database, sms: MemorySmsGateway, cls: type[Relay] = Relay, **worker: object) -> Relay:
    cfg = settings(**worker)
    return cls(db, cfg, default_handlers(cfg, sms))


async def queue_sms(db: Database, n: int) -> list[int]:
    async with db.session(write=True) as s:
        queued = [
            await enqueue(s, "sms.send", {"to": "+79161234567", "text": f"m{k}"}) for k in range(n)
        ]
        await s.flush()
        return [m.id for m in queued if m is not None]


class SlowGateway(MemorySmsGateway):
    """Answers after ``delay`` seconds, as an SMSC across a slow link would."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.entered = asyncio.Event()

    async def send(self, *, sender: str, to: str, text: str, idempotency_key: str) -> str:
        self.entered.set()
        await asyncio.sleep(self.delay)
        return await super().send(sender=sender, to=to, text=text, idempotency_key=idempotency_key)


async def transactions_left_open(db: Database) -> int:
    """PostgreSQL: sessions of this database sitting inside a transaction, other than ours."""
    async with db.engine.connect() as conn:
        return int(
            await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                )
            )
            or 0
        )


async def test_a_slow_gateway_holds_up_no_payment(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        made = [await make_account(s) for _ in range(4)]
    (message_id,) = await queue_sms(db, 1)
    sms = SlowGateway(delay=2.0)
    # One batch: the payments queue notices of their own, for a later one.
    sending = asyncio.create_task(relay(db, sms).drain(limit=1))
    await asyncio.wait_for(sms.entered.wait(), timeout=10)

    # The claim committed before the send began: the lease is visible to everyone.
    async with db.session() as s:
        row = await s.get(OutboxMessage, message_id)
        assert row is not None and row.status == "pending" and row.attempts == 1
        assert row.claimed_until is not None
    if not db.is_sqlite:
        assert await transactions_left_open(db) == 0
    elapsed = []
    for n, (account, _) in enumerate(made):
        request = PaymentRequest(
            account=account,
            amount_minor=10_000,
            method="agent",
            source="osmp:BANK",
            source_txn_id=f"slow-{n}",
            actor=AGENT,
        )
        started = time.monotonic()
        booked = await db.run(lambda s, r=request: book_payment(s, r))
        elapsed.append(time.monotonic() - started)
        assert booked.created
    assert not sending.done(), "the gateway answered before the payments were booked"
    # Each payment waited for nothing: far below the gateway's two seconds.
    assert max(elapsed) < 0.5, elapsed

    stats = await sending
    assert stats.delivered == 1
    assert [m.text for m in sms.sent] == ["m0"]
    async with db.session() as s:
        row = await s.get(OutboxMessage, message_id)
        assert row is not None and (row.status, row.claimed_until) == ("done", None)


class DiesBeforeRecording(Relay):
    """Sends, then fails to record the first batch it sent (the database went away, or the
    process was killed): the outcome of every attempt in it is lost."""

    died_on: list[int] | None = None

    async def record(self, sent: Sequence[tuple[Claim, Attempt]]) -> list[Outcome]:
        if DiesBeforeRecording.died_on is None:
            DiesBeforeRecording.died_on = [claim.id for claim, _ in sent]
            raise ConnectionError("server closed the connection unexpectedly")
        return await super().record(sent)


async def test_a_relay_dying_between_send_and_record_costs_one_resend_with_the_same_key(
    db: Database, clock
) -> None:
    first, second = await queue_sms(db, 2)
    sms = MemorySmsGateway()
    DiesBeforeRecording.died_on = None
    stats = await relay(db, sms, DiesBeforeRecording, batch_size=1).drain()
    assert DiesBeforeRecording.died_on == [first]
    assert (stats.delivered, stats.unrecorded) == (1, 1)
    assert sorted(sms.calls) == [f"outbox-{first}", f"outbox-{second}"]

    # While the lease holds, no relay touches the message.
    assert (await relay(db, sms).drain()).handled == 0
    clock.advance(seconds=LEASE - 1)
    assert (await relay(db, sms).drain()).handled == 0
    assert len(sms.calls) == 2

    clock.advance(seconds=2)
    again = await relay(db, sms).drain()
    assert again.delivered == 1
    calls = Counter(sms.calls)
    assert calls == {f"outbox-{first}": 2, f"outbox-{second}": 1}
    # A gateway that keeps keys delivered the re-send once.
    assert sorted(m.text for m in sms.sent) == ["m0", "m1"]

    clock.advance(seconds=LEASE * 10)
    assert (await relay(db, sms).drain()).handled == 0
    assert len(sms.calls) == 3
    async with db.session() as s:
        row = await s.get(OutboxMessage, first)
        assert row is not None and (row.status, row.attempts, row.claimed_until) == (
            "done",
            2,
            None,
        )
        attempts = (
            await s.execute(
                select(OutboxAttempt.ok, OutboxAttempt.error)
                .where(OutboxAttempt.message_id == first)
                .order_by(OutboxAttempt.id)
            )
        ).all()
        assert [tuple(a) for a in attempts] == [(False, LEASE_EXPIRED), (True, None)]


class Hangs(MemorySmsGateway):
    """Takes the message, then never answers: the process is killed while it waits."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()

    async def send(self, *, sender: str, to: str, text: str, idempotency_key: str) -> str:
        await super().send(sender=sender, to=to, text=text, idempotency_key=idempotency_key)
        self.entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_relay_killed_mid_send_is_replaced_after_its_lease(db: Database, clock) -> None:
    (message_id,) = await queue_sms(db, 1)
    hung = Hangs()
    task = asyncio.create_task(relay(db, hung).drain())
    await asyncio.wait_for(hung.entered.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    sms = MemorySmsGateway()
    assert (await relay(db, sms).drain()).handled == 0
    clock.advance(seconds=LEASE + 1)
    assert (await relay(db, sms).drain()).delivered == 1
    assert hung.calls == sms.calls == [f"outbox-{message_id}"]


async def test_a_lost_last_attempt_is_given_up(db: Database, clock) -> None:
    (message_id,) = await queue_sms(db, 1)
    sms = MemorySmsGateway()
    DiesBeforeRecording.died_on = None
    await relay(db, sms, DiesBeforeRecording, max_attempts=1).drain()
    clock.advance(seconds=LEASE + 1)
    stats = await relay(db, sms, max_attempts=1).drain()
    assert (stats.dead, stats.delivered) == (1, 0)
    assert sms.calls == [f"outbox-{message_id}"]
    async with db.session() as s:
        row = await s.get(OutboxMessage, message_id)
        assert row is not None
        assert (row.status, row.last_error, row.claimed_until) == ("dead", LEASE_EXPIRED, None)


async def test_an_unanswered_send_times_out_and_is_retried(db: Database, clock) -> None:
    (message_id,) = await queue_sms(db, 1)
    stats = await relay(db, SlowGateway(delay=5), send_timeout_seconds=0.2, lease_seconds=5).drain()
    assert stats.failed == 1
    async with db.session() as s:
        row = await s.get(OutboxMessage, message_id)
        assert row is not None
        assert (row.status, row.claimed_until, row.last_error) == (
            "pending",
            None,
            "timeout: no answer in 0.2 s",
        )


def test_a_lease_shorter_than_a_send_is_refused() -> None:
    with pytest.raises(ValidationError, match="lease_seconds must exceed"):
        WorkerSettings(lease_seconds=10, send_timeout_seconds=30)


@pytest.mark.postgres_only
async def test_slow_parallel_relays_never_send_one_message_twice(db: Database, clock) -> None:
    await queue_sms(db, 24)
    sms = SlowGateway(delay=0.2)
    # One batch in flight each: with four, two relays' first claims (one statement each) can
    # take all 24 before the other two start, and "every relay got a share" says nothing then.
    relays = [relay(db, sms, batch_size=3) for _ in range(4)]
    for one in relays:
        one.in_flight = 1
    results = await asyncio.gather(*(r.drain() for r in relays))
    assert sum(r.delivered for r in results) == 24
    # Every relay got a share, and no key was sent twice.
    assert all(r.delivered > 0 for r in results)
    assert len(sms.calls) == len(set(sms.calls)) == 24
