"""The bind on the event loop (channels/smpp/link.py) against the real peer, and a mixed batch's
parts recorded by one statement (both databases)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from abonent.channels.sms.outbound import OutboundSms, relay_sms_batch
from abonent.channels.sms.smpp import SmppSmsGateway
from abonent.config import SmsSettings
from abonent.db.uow import Database
from abonent.models import SmsMessage, SmsPart
from tests.smpp.peer import SmppPeer
from tests.sms.helpers import queue_sms

TO = "+79161234567"
LONG = ("Задолженность по услуге «Мобильная связь» на 18.11.2026: 350,00 ₽. " * 3)[:190]


async def test_a_receipt_being_recorded_holds_up_no_submit(
    smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    recording = asyncio.Event()
    release = asyncio.Event()

    async def on_receipt(message_id: str, state: str) -> bool:
        recording.set()
        await release.wait()  # a slow database
        return True

    async with SmppSmsGateway(sms_settings, on_receipt=on_receipt) as gateway:
        first = await gateway.send(sender="Abonent", to=TO, text="один")
        receipt = asyncio.create_task(smpp_peer.send_receipt(first))
        await asyncio.wait_for(recording.wait(), 5)
        # The deliver_sm is still unanswered, and the bind reads and answers everything else.
        second = await asyncio.wait_for(gateway.send(sender="Abonent", to=TO, text="два"), 5)
        assert not receipt.done()
        release.set()
        assert await asyncio.wait_for(receipt, 5) == 0
    assert second != first
    assert [text for _, text in smpp_peer.messages()] == ["один", "два"]


async def test_a_receipt_callback_that_raises_is_answered_for_a_resend(
    smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    async def on_receipt(message_id: str, state: str) -> bool:
        raise ConnectionError("database away")

    async with SmppSmsGateway(sms_settings, on_receipt=on_receipt) as gateway:
        message_id = await gateway.send(sender="Abonent", to=TO, text="Привет")
        assert await smpp_peer.send_receipt(message_id) == 0x64  # ESME_RX_T_APPN
        # The bind is unharmed.
        assert await gateway.send(sender="Abonent", to=TO, text="ещё")
        assert gateway.link.binds == 1


async def test_a_quiet_bind_is_kept_by_enquire_link(smpp_peer: SmppPeer, sms_settings: SmsSettings):
    cfg = sms_settings.model_copy(update={"enquire_link_seconds": 0.1})
    async with SmppSmsGateway(cfg) as gateway:
        await gateway.send(sender="Abonent", to=TO, text="до")
        await asyncio.sleep(0.6)  # several enquire_link / enquire_link_resp meanwhile
        assert gateway.link.bound and gateway.link.binds == 1
        await gateway.send(sender="Abonent", to=TO, text="после")
    assert smpp_peer.bind_count == 1
    assert [text for _, text in smpp_peer.messages()] == ["до", "после"]


async def test_many_concurrent_sends_share_the_window_and_each_gets_its_own_id(
    smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    async with SmppSmsGateway(sms_settings) as gateway:
        ids = await asyncio.gather(
            *(gateway.send(sender="Abonent", to=TO, text=f"n{n}") for n in range(200))
        )
    assert len(set(ids)) == 200
    by_id = {s.message_id: s.text for s in smpp_peer.submitted}
    assert [by_id[i] for i in ids] == [f"n{n}" for n in range(200)]


async def test_a_mixed_batch_records_each_message_with_its_own_parts(
    db: Database, smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    texts = ["Привет", LONG, "Code 4711", LONG[:100]]
    ids = [await queue_sms(db, TO, text) for text in texts]
    batch = [
        OutboundSms(i, TO, text, first_attempt=True) for i, text in zip(ids, texts, strict=True)
    ]
    async with SmppSmsGateway(sms_settings) as gateway:
        outcomes = await relay_sms_batch(db, gateway, sender="Abonent", batch=batch)
    assert [len(o.gateway_message_ids) for o in outcomes] == [1, 3, 1, 2]
    async with db.session() as s:
        for outbox_id, outcome in zip(ids, outcomes, strict=True):
            row = await s.scalar(
                select(SmsMessage).where(SmsMessage.outbox_message_id == outbox_id)
            )
            assert row is not None
            assert (row.status, row.parts) == ("sent", len(outcome.gateway_message_ids))
            assert row.sent_at is not None and row.created_at is not None
            parts = (
                await s.scalars(
                    select(SmsPart).where(SmsPart.sms_id == row.id).order_by(SmsPart.seq)
                )
            ).all()
            assert [(p.seq, p.gateway_message_id) for p in parts] == list(
                enumerate(outcome.gateway_message_ids, 1)
            )
    assert sorted(text for _, text in smpp_peer.messages()) == sorted(texts)


def test_the_bind_works_under_uvloop(sms_settings: SmsSettings):
    # uvicorn runs the web process (and so the embedded worker) on uvloop when it is installed;
    # its transports are not asyncio.Transport subclasses.
    import uvloop

    from tests.smpp.peer import free_port

    async def main() -> tuple[str, str]:
        peer = await SmppPeer(system_id="abonent", port=free_port()).start()
        cfg = sms_settings.model_copy(update={"port": peer.port})
        try:
            async with SmppSmsGateway(cfg) as gateway:
                first = await gateway.send(sender="Abonent", to=TO, text="uvloop")
                second = await gateway.send(sender="Abonent", to=TO, text="ещё")
                return first, second
        finally:
            await peer.stop()

    assert uvloop.run(main()) == ("p000001", "p000002")


async def test_a_submit_outstanding_when_the_bind_drops_is_resent_after_the_rebind(
    smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    async with SmppSmsGateway(sms_settings) as gateway:
        await gateway.link.wait_bound()
        smpp_peer.hold = True  # the SMSC has the submit and has not answered it yet
        sending = asyncio.create_task(gateway.send(sender="Abonent", to=TO, text="в пути"))
        await smpp_peer.wait_until(lambda: smpp_peer.held)
        smpp_peer.hold = False
        await smpp_peer.restart(down_for=0.2)
        message_id = await asyncio.wait_for(sending, 5)
        assert gateway.link.binds == 2
    assert message_id == smpp_peer.accepted[-1].message_id
    assert [text for _, text in smpp_peer.messages()] == ["в пути"]
