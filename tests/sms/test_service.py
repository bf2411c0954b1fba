"""SMS status rules: queued → sent → delivered / undeliverable / expired, failed; receipts once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.kit.errors import InvalidInput, NotFound
from abonent.models import SmsMessage, SmsPart
from abonent.sms import service as sms
from tests.sms.helpers import queue_sms

TO = "+79161234567"


async def _sent(db: Database, ids: tuple[str, ...], category: str = "service") -> int:
    outbox_id = await queue_sms(db)
    await db.run(
        lambda s: sms.record_sent(
            s, outbox_message_id=outbox_id, to=TO, category=category, gateway_message_ids=ids
        )
    )
    return outbox_id


async def _message(db: Database, outbox_id: int) -> SmsMessage:
    async with db.session() as s:
        row = await s.scalar(select(SmsMessage).where(SmsMessage.outbox_message_id == outbox_id))
        assert row is not None
        return row


async def test_queued_then_sent_with_its_parts(db: Database, clock):
    outbox_id = await queue_sms(db)
    queued = await db.run(
        lambda s: sms.record_queued(s, outbox_message_id=outbox_id, to=TO, category="debt")
    )
    assert (queued.status, queued.sent_at) == ("queued", None)
    await db.run(
        lambda s: sms.record_sent(
            s, outbox_message_id=outbox_id, to=TO, category="debt",
            gateway_message_ids=("g1", "g2"),
        )
    )  # fmt: skip
    row = await _message(db, outbox_id)
    assert (row.id, row.status, row.parts, row.category, row.sent_at) == (
        queued.id,
        "sent",
        2,
        "debt",
        clock.now(),
    )
    view = await _view(db, row.id)
    assert [(p.seq, p.gateway_message_id, p.state) for p in view.parts] == [
        (1, "g1", None), (2, "g2", None)
    ]  # fmt: skip


async def _view(db: Database, sms_id: int) -> sms.SmsView:
    async with db.session() as s:
        return await sms.show(s, sms_id)


async def test_recording_the_same_send_twice_changes_nothing(db: Database, clock):
    outbox_id = await _sent(db, ("g1",))
    again = await db.run(
        lambda s: sms.record_sent(
            s, outbox_message_id=outbox_id, to=TO, category="service", gateway_message_ids=("g9",)
        )
    )
    assert again.status == "sent"
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(SmsMessage)) == 1
        assert (await s.scalars(select(SmsPart.gateway_message_id))).all() == ["g1"]


async def test_a_receipt_delivers_and_a_repeat_changes_nothing(db: Database, clock):
    outbox_id = await _sent(db, ("g1",))
    assert await db.run(lambda s: sms.apply_receipt(s, "g1", "delivered")) == "applied"
    row = await _message(db, outbox_id)
    delivered_at = clock.now()
    assert (row.status, row.finished_at, row.reason) == ("delivered", delivered_at, None)
    clock.advance(minutes=5)
    assert await db.run(lambda s: sms.apply_receipt(s, "g1", "delivered")) == "unchanged"
    assert await db.run(lambda s: sms.apply_receipt(s, "g1", "expired")) == "unchanged"
    row = await _message(db, outbox_id)
    assert (row.status, row.finished_at) == ("delivered", delivered_at)


@pytest.mark.parametrize(
    ("state", "status", "reason"),
    [
        ("undeliverable", "undeliverable", "the network could not deliver it"),
        ("expired", "expired", "not delivered within its validity period"),
        ("rejected", "failed", "rejected by the network"),
    ],
)
async def test_bad_receipts(db: Database, clock, state: str, status: str, reason: str):
    outbox_id = await _sent(db, ("g1",))
    await db.run(lambda s: sms.apply_receipt(s, "g1", state))
    row = await _message(db, outbox_id)
    assert (row.status, row.reason) == (status, reason)


async def test_intermediate_receipts_keep_it_sent(db: Database, clock):
    outbox_id = await _sent(db, ("g1",))
    for state in ("accepted", "unknown"):
        assert await db.run(lambda s, st=state: sms.apply_receipt(s, "g1", st)) == "applied"
        assert (await _message(db, outbox_id)).status == "sent"
    assert await db.run(lambda s: sms.apply_receipt(s, "g1", "delivered")) == "applied"
    assert (await _message(db, outbox_id)).status == "delivered"


async def test_a_long_sms_is_delivered_when_every_part_is(db: Database, clock):
    outbox_id = await _sent(db, ("g1", "g2", "g3"))
    for gid in ("g3", "g1"):
        await db.run(lambda s, g=gid: sms.apply_receipt(s, g, "delivered"))
        assert (await _message(db, outbox_id)).status == "sent"
    await db.run(lambda s: sms.apply_receipt(s, "g2", "delivered"))
    assert (await _message(db, outbox_id)).status == "delivered"


async def test_one_lost_part_makes_the_message_undeliverable(db: Database, clock):
    outbox_id = await _sent(db, ("g1", "g2"))
    await db.run(lambda s: sms.apply_receipt(s, "g1", "delivered"))
    await db.run(lambda s: sms.apply_receipt(s, "g2", "undeliverable"))
    assert (await _message(db, outbox_id)).status == "undeliverable"


async def test_a_receipt_for_an_unknown_id_changes_nothing(db: Database, clock):
    outbox_id = await _sent(db, ("g1",))
    assert await db.run(lambda s: sms.apply_receipt(s, "nope", "delivered")) == "unknown"
    assert (await _message(db, outbox_id)).status == "sent"


async def test_mark_failed_keeps_the_reason_and_is_final(db: Database, clock):
    outbox_id = await queue_sms(db)
    failed = await db.run(
        lambda s: sms.mark_failed(
            s, outbox_message_id=outbox_id, to=TO, category="service", reason="ESME_RINVDSTADR"
        )
    )
    assert (failed.status, failed.reason, failed.finished_at) == (
        "failed", "ESME_RINVDSTADR", clock.now()
    )  # fmt: skip
    again = await db.run(
        lambda s: sms.record_sent(
            s, outbox_message_id=outbox_id, to=TO, category="service", gateway_message_ids=("g",)
        )
    )
    assert again.status == "failed"


async def test_refusals_change_nothing(db: Database, clock):
    outbox_id = await queue_sms(db)
    with pytest.raises(InvalidInput) as bad:
        await db.run(
            lambda s: sms.record_queued(s, outbox_message_id=outbox_id, to=TO, category="promo")
        )
    assert bad.value.code == "sms_category"
    with pytest.raises(InvalidInput) as empty:
        await db.run(
            lambda s: sms.record_sent(
                s, outbox_message_id=outbox_id, to=TO, category="service", gateway_message_ids=()
            )
        )
    assert empty.value.code == "sms_no_parts"
    async with db.session() as s:
        with pytest.raises(InvalidInput) as status:
            await sms.list_messages(s, status="lost")
        assert status.value.code == "sms_status"
        with pytest.raises(NotFound):
            await sms.show(s, 999)
        assert await s.scalar(select(func.count()).select_from(SmsMessage)) == 0
