"""A batch recorded in one unit; the SMS of a batch handed to one call of ``relay_sms_batch``."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select

from abonent.channels.smpp.link import SubmitRefused
from abonent.channels.sms.gateway import MemorySmsGateway
from abonent.config import Settings
from abonent.db.uow import Database
from abonent.models import OutboxAttempt, OutboxMessage, SmsMessage
from abonent.outbox import service as outbox
from abonent.outbox.service import LEASE_EXPIRED, Claim, Outcome, enqueue
from abonent.worker.relay import Attempt, BatchHandler, Relay, default_handlers

LEASE = 120


def settings(**worker: object) -> Settings:
    return Settings(
        worker={"retry_base_seconds": 10, "max_attempts": 3, "lease_seconds": LEASE, **worker}
    )


async def queue(db: Database, *payloads: tuple[str, dict[str, object]]) -> list[int]:
    async with db.session(write=True) as s:
        made = [await enqueue(s, topic, payload) for topic, payload in payloads]
        await s.flush()
        return [m.id for m in made if m is not None]


async def history(db: Database, message_id: int) -> list[tuple[bool, str | None]]:
    async with db.session() as s:
        rows = await s.execute(
            select(OutboxAttempt.ok, OutboxAttempt.error)
            .where(OutboxAttempt.message_id == message_id)
            .order_by(OutboxAttempt.id)
        )
        return [(ok, error) for ok, error in rows]


class SpyRelay(Relay):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.records: list[int] = []
        self.batch_calls: list[int] = []

    async def send_batch(self, handler: BatchHandler, claims: Sequence[Claim]) -> list[Attempt]:
        self.batch_calls.append(len(claims))
        return await super().send_batch(handler, claims)

    async def record(self, sent: Sequence[tuple[Claim, Attempt]]) -> list[Outcome]:
        self.records.append(len(sent))
        return await super().record(sent)


async def test_one_batch_one_record_unit_and_the_sms_in_one_call(db: Database, clock) -> None:
    sms = [("sms.send", {"to": f"+7916000000{n}", "text": f"m{n}"}) for n in range(5)]
    ids = await queue(
        db,
        *sms[:3],
        ("payment.booked", {"payment_id": 1}),
        ("sms.send", {"text": "no recipient"}),
        *sms[3:],
    )
    gateway = MemorySmsGateway()
    cfg = settings(batch_size=16)
    relay = SpyRelay(db, cfg, default_handlers(cfg, gateway, db))
    stats = await relay.drain()
    assert (stats.delivered, stats.dead, stats.failed) == (6, 1, 0)
    assert stats.by_topic == {"sms.send": 5, "payment.booked": 1}
    # Six SMS claims in one call of the batch handler (the bad payload among them, not sent),
    # and the seven outcomes recorded in one unit.
    assert relay.batch_calls == [6] and relay.records == [7]
    assert sorted(m.text for m in gateway.sent) == [f"m{n}" for n in range(5)]
    async with db.session() as s:
        statuses = list(await s.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))
        assert statuses == ["done", "done", "done", "done", "dead", "done", "done"]
        tracked = await s.scalar(
            select(func.count()).select_from(SmsMessage).where(SmsMessage.status == "sent")
        )
        assert tracked == 5
    assert await history(db, ids[4]) == [(False, "sms.send needs 'to' and 'text'")]
    for i in ids[:4] + ids[5:]:
        assert await history(db, i) == [(True, None)]


class DiesBeforeRecording(Relay):
    died: bool = False

    async def record(self, sent: Sequence[tuple[Claim, Attempt]]) -> list[Outcome]:
        if not DiesBeforeRecording.died:
            DiesBeforeRecording.died = True
            raise ConnectionError("server closed the connection unexpectedly")
        return await super().record(sent)


async def test_a_batch_whose_record_fails_comes_back_after_its_lease(db: Database, clock) -> None:
    ids = await queue(
        db, *[("sms.send", {"to": "+79161234567", "text": f"m{n}"}) for n in range(3)]
    )
    gateway = MemorySmsGateway()
    DiesBeforeRecording.died = False
    cfg = settings()
    stats = await DiesBeforeRecording(db, cfg, default_handlers(cfg, gateway, db)).drain()
    assert (stats.delivered, stats.unrecorded) == (0, 3)
    assert sorted(gateway.calls) == sorted(f"outbox-{i}" for i in ids)

    relay = Relay(db, cfg, default_handlers(cfg, gateway, db))
    clock.advance(seconds=LEASE - 1)
    assert (await relay.drain()).handled == 0
    clock.advance(seconds=2)
    assert (await relay.drain()).delivered == 3
    # The sms_messages rows were committed before the outbox record failed: the batch comes
    # back and is marked done, and no SMS is submitted a second time.
    assert Counter(gateway.calls) == {f"outbox-{i}": 1 for i in ids}
    for i in ids:
        assert await history(db, i) == [(False, LEASE_EXPIRED), (True, None)]
    async with db.session() as s:
        rows = (await s.execute(select(OutboxMessage.status, OutboxMessage.attempts))).all()
        assert sorted(tuple(r) for r in rows) == [("done", 2)] * 3


async def test_a_lost_claim_in_a_batch_is_reported_lost_and_left_alone(db: Database, clock) -> None:
    first, second = await queue(
        db, *[("sms.send", {"to": "+79161234567", "text": f"m{n}"}) for n in range(2)]
    )
    lease = dt.timedelta(seconds=LEASE)
    claimed = await db.run(lambda s: outbox.claim_due(s, limit=2, lease=lease, max_attempts=3))
    clock.advance(seconds=LEASE + 1)
    # Another relay takes the first one over (its lease ran out); the second is still ours.
    again = await db.run(lambda s: outbox.claim_due(s, limit=1, lease=lease, max_attempts=3))
    assert [c.id for c in again.claims] == [first]
    results = [outbox.Result(c) for c in claimed.claims]
    outcomes = await db.run(
        lambda s: outbox.record_outcomes(s, results, max_attempts=3, retry_base_seconds=10)
    )
    assert outcomes == ["lost", "done"]
    async with db.session() as s:
        row = await s.get(OutboxMessage, first)
        assert row is not None
        assert (row.status, row.attempts, row.claimed_until is not None) == ("pending", 2, True)
    assert await history(db, first) == [(False, LEASE_EXPIRED)]
    assert await history(db, second) == [(True, None)]


async def test_a_batch_handler_that_raises_leaves_every_claim_to_retry(db: Database, clock) -> None:
    ids = await queue(db, *[("sms.send", {"to": "+79161234567", "text": "x"}) for _ in range(2)])

    async def broken(claims: Sequence[Claim]) -> list[Attempt]:
        raise ConnectionError("SMSC down")

    relay = Relay(db, settings(), {"sms.send": BatchHandler(broken)})
    assert (await relay.drain()).failed == 2
    for i in ids:
        assert await history(db, i) == [(False, "ConnectionError: SMSC down")]
    async with db.session() as s:
        rows = (await s.execute(select(OutboxMessage.status, OutboxMessage.claimed_until))).all()
        assert [tuple(r) for r in rows] == [("pending", None)] * 2


async def test_a_refusal_is_permanent_and_an_unsent_sms_is_retried(db: Database, clock) -> None:
    refused, flaky, fine, odd = await queue(
        db,
        *[("sms.send", {"to": f"+7916000000{n}", "text": f"m{n}"}) for n in range(3)],
        ("sms.send", {"to": "+79160000003", "text": "m3", "category": "spam"}),
    )

    class Gateway(MemorySmsGateway):
        async def send(self, *, sender: str, to: str, text: str, idempotency_key: str) -> str:
            if to.endswith("0"):
                raise SubmitRefused(0x0B)
            if to.endswith("1"):
                raise ConnectionError("bind lost")
            return await super().send(
                sender=sender, to=to, text=text, idempotency_key=idempotency_key
            )

    cfg = settings()
    stats = await Relay(db, cfg, default_handlers(cfg, Gateway(), db)).drain()
    # An unknown category spoils nothing else in the batch: that one is not sent and ends dead.
    assert (stats.delivered, stats.failed, stats.dead) == (1, 1, 2)
    async with db.session() as s:
        rows = dict(
            (await s.execute(select(SmsMessage.outbox_message_id, SmsMessage.status))).all()
        )
        assert rows == {refused: "failed", fine: "sent"}
        statuses = dict((await s.execute(select(OutboxMessage.id, OutboxMessage.status))).all())
        assert statuses == {refused: "dead", flaky: "pending", fine: "done", odd: "dead"}
    [(ok, error)] = await history(db, refused)
    assert not ok and error is not None and error.startswith("refused by the SMSC")
    assert await history(db, flaky) == [(False, "ConnectionError: bind lost")]
    [(ok, error)] = await history(db, odd)
    assert not ok and error is not None and "unknown SMS category 'spam'" in error


async def test_an_sms_the_relay_gives_up_on_ends_failed_with_the_reason(
    db: Database, clock
) -> None:
    lost, fine = await queue(
        db,
        ("sms.send", {"to": "+79160000001", "text": "m1"}),
        ("sms.send", {"to": "+79160000002", "text": "m2"}),
    )

    class Gateway(MemorySmsGateway):
        async def send(self, *, sender: str, to: str, text: str, idempotency_key: str) -> str:
            if to.endswith("1"):
                raise ConnectionError("bind lost")
            return await super().send(
                sender=sender, to=to, text=text, idempotency_key=idempotency_key
            )

    cfg = settings()
    relay = Relay(db, cfg, default_handlers(cfg, Gateway(), db))
    for n in range(3):
        await relay.drain()
        async with db.session() as s:
            row = await s.scalar(select(SmsMessage).where(SmsMessage.outbox_message_id == lost))
            # Still being retried: no SMS row says it failed before the last attempt.
            assert (row is None) == (n < 2)
        clock.advance(seconds=100)
    async with db.session() as s:
        rows = {
            m.outbox_message_id: (m.status, m.reason, m.to_msisdn, m.finished_at is not None)
            for m in await s.scalars(select(SmsMessage))
        }
        statuses = dict((await s.execute(select(OutboxMessage.id, OutboxMessage.status))).all())
    assert statuses == {lost: "dead", fine: "done"}
    assert rows == {
        lost: (
            "failed",
            "gave up after 3 attempts: ConnectionError: bind lost",
            "+79160000001",
            True,
        ),
        fine: ("sent", None, "+79160000002", False),
    }
