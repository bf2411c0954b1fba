"""A batch of SMS shares a few senders (channels/sms/outbound.relay_sms_batch): never more
sends under way than asked, every message sent once, and one deadline for the batch that
turns what is unanswered or not yet sent into a timeout to retry, never a send lost."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from abonent.channels.sms.gateway import MemorySmsGateway
from abonent.channels.sms.outbound import OutboundSms, relay_sms_batch
from abonent.db.uow import Database
from abonent.models import SmsMessage
from tests.worker.test_relay_claims import queue_sms


class CountingGateway(MemorySmsGateway):
    """Answers after a pause, counting how many sends are under way at once; from the
    ``hang_after``-th send on it never answers."""

    def __init__(self, hang_after: int | None = None) -> None:
        super().__init__()
        self.now = self.most = self.started = 0
        self.hang_after = hang_after

    async def send(self, *, sender: str, to: str, text: str, idempotency_key: str) -> str:
        self.started += 1
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            if self.hang_after is not None and self.started > self.hang_after:
                await asyncio.Event().wait()
            await asyncio.sleep(0.01)
            return await super().send(
                sender=sender, to=to, text=text, idempotency_key=idempotency_key
            )
        finally:
            self.now -= 1


def batch_of(ids: list[int]) -> list[OutboundSms]:
    return [OutboundSms(i, "+79161234567", f"m{i}", first_attempt=True) for i in ids]


async def sent_rows(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(SmsMessage)) or 0)


async def test_a_batch_shares_its_senders_and_sends_each_message_once(db: Database) -> None:
    ids = await queue_sms(db, 7)
    gateway = CountingGateway()
    outcomes = await relay_sms_batch(
        db, gateway, sender="Abonent", batch=batch_of(ids), concurrency=3
    )
    assert gateway.most == 3
    assert [o.outbox_message_id for o in outcomes] == ids
    assert all(o.sent for o in outcomes)
    assert sorted(gateway.calls) == sorted(f"outbox-{i}" for i in ids)
    assert await sent_rows(db) == 7


async def test_the_batch_deadline_times_out_the_unanswered_and_the_unsent(db: Database) -> None:
    ids = await queue_sms(db, 6)
    gateway = CountingGateway(hang_after=2)
    outcomes = await relay_sms_batch(
        db, gateway, sender="Abonent", batch=batch_of(ids), send_timeout=0.3, concurrency=2
    )
    sent = [o for o in outcomes if o.sent]
    late = [o for o in outcomes if not o.sent]
    # Two answered; the two senders then hung on the next two; the last two were never sent.
    assert len(sent) == 2 and gateway.started == 4
    assert [o.error for o in late] == ["timeout: no answer in 0.3 s"] * 4
    assert not any(o.permanent for o in late)
    assert [o.outbox_message_id for o in outcomes] == ids
    assert await sent_rows(db) == 2
