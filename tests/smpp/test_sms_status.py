"""Outbox SMS over SMPP to the real peer, their receipts kept in sms_messages (both databases)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from abonent.channels.sms.gateway import MemorySmsGateway
from abonent.channels.sms.outbound import SmsRefused, receipt_recorder, relay_sms
from abonent.channels.sms.smpp import SmppSmsGateway
from abonent.config import SmsSettings
from abonent.db.uow import Database
from abonent.models import SmsMessage, SmsPart
from tests.smpp.peer import SmppPeer
from tests.sms.helpers import queue_sms

TO = "+79161234567"
LONG = ("Задолженность по услуге «Мобильная связь» на 18.11.2026: 350,00 ₽. " * 3)[:190]


async def _row(db: Database, outbox_id: int) -> tuple[SmsMessage, list[SmsPart]]:
    async with db.session() as s:
        row = await s.scalar(select(SmsMessage).where(SmsMessage.outbox_message_id == outbox_id))
        assert row is not None
        parts = (await s.scalars(select(SmsPart).where(SmsPart.sms_id == row.id))).all()
        return row, sorted(parts, key=lambda p: p.seq)


async def test_receipts_take_a_three_part_sms_to_delivered(
    db: Database, smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    outbox_id = await queue_sms(db, TO, LONG)
    async with SmppSmsGateway(sms_settings, on_receipt=receipt_recorder(db)) as gateway:
        ids = await relay_sms(
            db, gateway, outbox_message_id=outbox_id, sender="Abonent", to=TO, text=LONG,
            category="debt",
        )  # fmt: skip
        row, parts = await _row(db, outbox_id)
        assert (row.status, row.parts, row.category) == ("sent", 3, "debt")
        assert tuple(p.gateway_message_id for p in parts) == ids
        assert smpp_peer.messages() == [("79161234567", LONG)]
        for n, message_id in enumerate(ids, 1):
            assert await smpp_peer.send_receipt(message_id, "DELIVRD") == 0
            row, parts = await _row(db, outbox_id)
            assert row.status == ("delivered" if n == 3 else "sent")
        # The SMSC repeats a receipt: accepted, nothing changes.
        assert await smpp_peer.send_receipt(ids[0], "DELIVRD") == 0
    row, parts = await _row(db, outbox_id)
    assert row.status == "delivered" and [p.state for p in parts] == ["delivered"] * 3


@pytest.mark.parametrize(("stat", "status"), [("UNDELIV", "undeliverable"), ("EXPIRED", "expired")])
async def test_a_bad_receipt_is_recorded_with_its_reason(
    db: Database, smpp_peer: SmppPeer, sms_settings: SmsSettings, stat: str, status: str
):
    outbox_id = await queue_sms(db)
    async with SmppSmsGateway(sms_settings, on_receipt=receipt_recorder(db)) as gateway:
        [message_id] = await relay_sms(
            db, gateway, outbox_message_id=outbox_id, sender="Abonent", to=TO, text="Привет"
        )
        assert await smpp_peer.send_receipt(message_id, stat) == 0
    row, _ = await _row(db, outbox_id)
    assert row.status == status and row.reason


async def test_a_receipt_faster_than_the_record_is_taken_on_the_resend(
    db: Database, smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    # The peer sends each receipt right after the submit_sm_resp, before record_sent commits;
    # the gateway refuses it for now and the peer offers it again.
    smpp_peer.auto_receipt = "DELIVRD"
    outbox_id = await queue_sms(db)
    async with SmppSmsGateway(sms_settings, on_receipt=receipt_recorder(db)) as gateway:
        await relay_sms(
            db, gateway, outbox_message_id=outbox_id, sender="Abonent", to=TO, text="Привет"
        )
        await smpp_peer.wait_until(lambda: any(r[2] == 0 for r in smpp_peer.receipts_sent))
    row, _ = await _row(db, outbox_id)
    assert row.status == "delivered"


async def test_a_relayed_sms_is_not_submitted_again(
    db: Database, smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    outbox_id = await queue_sms(db)
    async with SmppSmsGateway(sms_settings) as gateway:
        first = await relay_sms(
            db, gateway, outbox_message_id=outbox_id, sender="Abonent", to=TO, text="Код 1234"
        )
    # A new process (no in-memory keys): the sms_messages row stops the second submit.
    async with SmppSmsGateway(sms_settings) as gateway:
        again = await relay_sms(
            db, gateway, outbox_message_id=outbox_id, sender="Abonent", to=TO, text="Код 1234"
        )
    assert first == again and len(smpp_peer.submitted) == 1


async def test_a_refusal_by_the_smsc_marks_it_failed(
    db: Database, smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    smpp_peer.refuse["79161234567"] = 0x0B
    outbox_id = await queue_sms(db)
    async with SmppSmsGateway(sms_settings) as gateway:
        with pytest.raises(SmsRefused):
            await relay_sms(
                db, gateway, outbox_message_id=outbox_id, sender="Abonent", to=TO, text="Привет"
            )
    row, parts = await _row(db, outbox_id)
    assert (row.status, parts) == ("failed", [])
    assert row.reason is not None and "0x0000000B" in row.reason


async def test_the_memory_gateway_records_the_same_way(db: Database):
    outbox_id = await queue_sms(db)
    gateway = MemorySmsGateway()
    ids = await relay_sms(
        db, gateway, outbox_message_id=outbox_id, sender="Abonent", to=TO, text="Привет"
    )
    row, parts = await _row(db, outbox_id)
    assert ids == ("mem-1",) and row.status == "sent" and parts[0].gateway_message_id == "mem-1"


async def test_a_batch_goes_out_together_and_is_recorded_in_one_go(
    db: Database, smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    from abonent.channels.sms.outbound import OutboundSms, relay_sms_batch

    smpp_peer.refuse["79260000002"] = 0x0B
    ids = [await queue_sms(db, f"+7926000000{n}") for n in range(4)]
    async with SmppSmsGateway(sms_settings) as gateway:
        # The first was relayed before (a retried batch): it is not submitted again.
        [already] = await relay_sms(
            db, gateway, outbox_message_id=ids[0], sender="Abonent", to="+79260000000",
            text="Привет",
        )  # fmt: skip
        batch = [OutboundSms(i, f"+7926000000{n}", f"Привет {n}") for n, i in enumerate(ids)]
        smpp_peer.hold = True
        running = asyncio.create_task(relay_sms_batch(db, gateway, sender="Abonent", batch=batch))
        # All three new ones are outstanding at once, before any answer.
        await smpp_peer.wait_until(lambda: len(smpp_peer.held) == 3)
        smpp_peer.release()
        outcomes = await running
    assert [o.outbox_message_id for o in outcomes] == ids
    assert outcomes[0].gateway_message_ids == (already,)
    assert [(o.sent, o.permanent) for o in outcomes] == [
        (True, False), (True, False), (False, True), (True, False)
    ]  # fmt: skip
    statuses = [(await _row(db, i))[0].status for i in ids]
    assert statuses == ["sent", "sent", "failed", "sent"]
    assert len(smpp_peer.submitted) == 4  # 1 earlier + 3 in the batch
