"""The collections hand-over notice through the gate in the worker, the release job, and the
``abonent notices`` / ``abonent contact`` commands."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select
from typer.testing import CliRunner

from abonent.channels.sms.gateway import MemorySmsGateway
from abonent.cli.main import app
from abonent.collections import service as collections
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.models import Account, CollectionAssignment, ContactLogEntry, ContactMessage
from abonent.worker import notices_job
from abonent.worker.relay import Relay, default_handlers
from tests.notices.helpers import at, count, debtor, sms_texts

COLLECTOR = Actor("staff:anna", "collections")
runner = CliRunner()


def said(text: str) -> str:
    return " ".join(text.split())


async def _handover(db: Database, account: Account) -> int:
    async with db.session(write=True) as s:
        agency = await collections.add_agency(
            s, name="ООО «Возврат»", inn="7707083893", actor=COLLECTOR
        )
        fresh = await s.get_one(Account, account.id)
        done = await collections.handover(
            s, fresh, agency.id, actor=COLLECTOR, as_of=dt.date(2026, 11, 18)
        )
        return done.assignment.id


async def _status(db: Database, assignment_id: int) -> str:
    async with db.session() as s:
        return (await s.get_one(CollectionAssignment, assignment_id)).notice_status


async def test_handover_notice_goes_through_the_gate(db: Database, clock: FrozenClock) -> None:
    account = await debtor(db)
    assignment_id = await _handover(db, account)
    settings = get_settings()
    relay = Relay(db, settings, default_handlers(settings, MemorySmsGateway(), db))
    stats = await relay.drain()
    assert stats.by_topic.get("collections.notice") == 1
    [text] = await sms_texts(db)
    assert "ООО «Возврат»" in text and "ИНН 7707083893" in text and "1\u00a0050,00\u00a0₽" in text
    assert account.number not in text
    assert await _status(db, assignment_id) == "sent"
    await relay.drain()  # the SMS itself goes; nothing is asked of the gate again
    assert await count(db, ContactLogEntry) == 1


async def test_handover_notice_at_night_waits_for_the_morning(
    db: Database, clock: FrozenClock
) -> None:
    account = await debtor(db)
    clock.at = at(2026, 11, 18, 20)  # 23:00 Moscow
    assignment_id = await _handover(db, account)
    settings = get_settings()
    relay = Relay(db, settings, default_handlers(settings, MemorySmsGateway(), db))
    await relay.drain()
    assert await sms_texts(db) == []
    assert await _status(db, assignment_id) == "queued"
    assert (await notices_job.release_once(db, settings)).sent == 0
    clock.at = at(2026, 11, 19, 5)
    done = await notices_job.release_once(db, settings)
    assert done.sent == 1
    assert await _status(db, assignment_id) == "sent"
    assert (await notices_job.release_once(db, settings)).sent == 0
    assert len(await sms_texts(db)) == 1


def test_cli_send_block_log(env_db: str, clock: FrozenClock) -> None:
    db = Database(env_db)
    try:
        account = asyncio.run(debtor(db))
    finally:
        asyncio.run(db.dispose())
    r = runner.invoke(
        app,
        [
            "contact",
            "block",
            str(account.customer_id),
            "--kind",
            "deceased",
            "--reason",
            "Свидетельство о смерти",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "block 1 set" in r.output
    r = runner.invoke(
        app, ["contact", "block", str(account.customer_id), "--kind", "nope", "--reason", "x"]
    )
    assert r.exit_code != 0
    r = runner.invoke(app, ["notices", "send", account.number, "--step", "first"])
    assert r.exit_code == 0, r.output
    assert "blocked (deceased)" in said(r.output)
    r = runner.invoke(app, ["contact", "blocks", str(account.customer_id)])
    assert "deceased" in r.output and "holds" in r.output
    r = runner.invoke(app, ["contact", "unblock", "1"])
    assert r.exit_code == 0 and "lifted" in r.output
    r = runner.invoke(app, ["notices", "release"])
    assert r.exit_code == 0 and "sent 1" in said(r.output)
    r = runner.invoke(app, ["notices", "send", account.number, "--step", "first"])
    assert "already asked: sent" in said(r.output)
    r = runner.invoke(app, ["contact", "log", "--account", account.number])
    assert r.exit_code == 0
    out = said(r.output)
    assert out.count("debt_notice") == 2
    assert out.index(" sent ") < out.index(" blocked deceased ")

    async def messages() -> list[str]:
        db = Database(env_db)
        try:
            async with db.session() as s:
                return list(await s.scalars(select(ContactMessage.status)))
        finally:
            await db.dispose()

    assert asyncio.run(messages()) == ["sent"]


async def test_debt_notices_go_under_their_own_sender(db: Database, clock: FrozenClock) -> None:
    from tests.notices.helpers import send, settings_with

    settings = settings_with(sender="AbonDolg")
    account = await debtor(db)
    await send(db, account, "first", clock.now(), settings)
    gateway = MemorySmsGateway()
    relay = Relay(db, settings, default_handlers(settings, gateway, db))
    await relay.drain()
    assert [m.sender for m in gateway.sent] == ["AbonDolg"]
    assert settings.sms_sender != "AbonDolg"


async def test_the_ladders_notices_pass_the_gate_once(db: Database, clock: FrozenClock) -> None:
    from abonent.dunning import service as dunning
    from tests.dunning.helpers import load
    from tests.factories import pay

    await load(db)  # the tests' ladder: notice_1 one day after the due date
    account = await debtor(db)
    paid = await debtor(db)
    # Both owe from 10.10.2026; the run of 11.10 decides notice_1 for each (one pass, set-based).
    await dunning.run(db, run_date=dt.date(2026, 10, 11))
    async with db.session(write=True) as s:
        await pay(s, paid, 105_000)  # paid before the worker got to its notice
    settings = get_settings()
    relay = Relay(db, settings, default_handlers(settings, MemorySmsGateway(), db))
    stats = await relay.drain()
    assert stats.by_topic.get("dunning.notice") == 2
    await relay.drain()
    [text] = await sms_texts(db)
    assert "лицевой счёт" in text.lower() and "1\u00a0050,00\u00a0₽" in text
    assert "http" not in text and account.number not in text
    assert await count(db, ContactMessage) == 1  # the paid account was not contacted
    # The same night again changes nothing: the step is done, and the gate keys the notice per
    # account, step and run date.
    await dunning.run(db, run_date=dt.date(2026, 10, 11))
    await relay.drain()
    assert len(await sms_texts(db)) == 1


async def test_handover_notice_delivery_is_recorded_on_the_assignment(
    db: Database, clock: FrozenClock
) -> None:
    from abonent.models import SmsMessage, SmsPart
    from abonent.sms import service as sms

    delivered, lost = await debtor(db), await debtor(db)
    ids = [await _handover(db, delivered)]
    async with db.session(write=True) as s:
        agency = await collections.add_agency(s, name="Второе", inn="500100732259", actor=COLLECTOR)
        done = await collections.handover(
            s,
            await s.get_one(Account, lost.id),
            agency.id,
            actor=COLLECTOR,
            as_of=dt.date(2026, 11, 18),
        )
        ids.append(done.assignment.id)
    settings = get_settings()
    relay = Relay(db, settings, default_handlers(settings, MemorySmsGateway(), db))
    await relay.drain()
    await relay.drain()  # the two SMS go out
    assert [await _status(db, i) for i in ids] == ["sent", "sent"]
    assert await notices_job.sync_handover_deliveries(db) == 0  # no receipt yet: still 'sent'
    async with db.session(write=True) as s:
        part_of: dict[int, SmsPart] = {}
        for assignment_id in ids:
            message = await s.scalar(
                select(ContactMessage).where(
                    ContactMessage.key == f"collections.notice:{assignment_id}"
                )
            )
            assert message is not None
            sms_row = await s.scalar(
                select(SmsMessage).where(SmsMessage.outbox_message_id == message.outbox_message_id)
            )
            assert sms_row is not None
            part_of[assignment_id] = await s.scalar(
                select(SmsPart).where(SmsPart.sms_id == sms_row.id)
            )  # type: ignore[assignment]
        await sms.apply_receipt(s, part_of[ids[0]].gateway_message_id, "delivered")
        await sms.apply_receipt(s, part_of[ids[1]].gateway_message_id, "undeliverable")
    assert await notices_job.sync_handover_deliveries(db) == 2
    assert [await _status(db, i) for i in ids] == ["delivered", "failed"]
    assert await notices_job.sync_handover_deliveries(db) == 0  # once
