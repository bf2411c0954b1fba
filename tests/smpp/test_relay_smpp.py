"""The path of ``abonent worker run``: outbox SMS relayed by ``Relay`` with the default handlers
through ``SmppSmsGateway`` to the real peer, tracked in sms_messages (both databases)."""

from __future__ import annotations

from sqlalchemy import select

from abonent.channels.sms.outbound import receipt_recorder
from abonent.channels.sms.smpp import SmppSmsGateway
from abonent.config import Settings, SmsSettings
from abonent.db.uow import Database
from abonent.models import OutboxMessage, SmsMessage, SmsPart
from abonent.worker.relay import Relay, default_handlers
from tests.smpp.peer import SmppPeer
from tests.sms.helpers import queue_sms


def worker_settings(sms: SmsSettings) -> Settings:
    return Settings(sms=sms, worker={"max_attempts": 3, "batch_size": 16})


async def _sms(db: Database) -> dict[int, tuple[str, str | None, list[str]]]:
    async with db.session() as s:
        rows = (await s.scalars(select(SmsMessage))).all()
        parts = (await s.scalars(select(SmsPart).order_by(SmsPart.seq))).all()
        return {
            row.outbox_message_id: (
                row.status,
                row.reason,
                [p.gateway_message_id for p in parts if p.sms_id == row.id],
            )
            for row in rows
            if row.outbox_message_id is not None
        }


async def _outbox(db: Database) -> dict[int, str]:
    async with db.session() as s:
        return dict((await s.execute(select(OutboxMessage.id, OutboxMessage.status))).all())


async def test_an_outbox_sms_relayed_over_smpp_is_delivered_by_its_receipt(
    db: Database, smpp_peer: SmppPeer, sms_settings: SmsSettings
) -> None:
    outbox_id = await queue_sms(db, "+79161234567", "Платёж 500,00 ₽ зачислен")
    cfg = worker_settings(sms_settings)
    async with SmppSmsGateway(cfg.sms, on_receipt=receipt_recorder(db)) as gateway:
        stats = await Relay(db, cfg, default_handlers(cfg, gateway, db)).drain()
        assert stats.delivered == 1
        [sub] = smpp_peer.submitted
        assert (sub.destination_addr, sub.text, sub.data_coding) == (
            "79161234567",
            "Платёж 500,00 ₽ зачислен",
            8,
        )
        assert (await _sms(db))[outbox_id] == ("sent", None, [sub.message_id])
        assert await smpp_peer.send_receipt(sub.message_id, "DELIVRD") == 0
    assert (await _sms(db))[outbox_id][0] == "delivered"
    assert await _outbox(db) == {outbox_id: "done"}


async def test_a_batch_with_a_refused_destination_fails_that_one_and_sends_the_others(
    db: Database, smpp_peer: SmppPeer, sms_settings: SmsSettings
) -> None:
    smpp_peer.refuse["79260000002"] = 0x0B
    ids = [await queue_sms(db, f"+7926000000{n}", f"Привет {n}") for n in range(4)]
    cfg = worker_settings(sms_settings)
    async with SmppSmsGateway(cfg.sms) as gateway:
        stats = await Relay(db, cfg, default_handlers(cfg, gateway, db)).drain()
    assert (stats.delivered, stats.dead, stats.failed) == (3, 1, 0)
    tracked = await _sms(db)
    assert [tracked[i][0] for i in ids] == ["sent", "sent", "failed", "sent"]
    reason = tracked[ids[2]][1]
    assert reason is not None and "0x0000000B" in reason and tracked[ids[2]][2] == []
    assert await _outbox(db) == dict(zip(ids, ["done", "done", "dead", "done"], strict=True))
    assert sorted(s.destination_addr for s in smpp_peer.submitted) == [
        f"7926000000{n}" for n in range(4)
    ]
