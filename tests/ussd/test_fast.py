"""The *100# fast path on PostgreSQL writes what the general path writes, and declines the rest."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import OutboxMessage, UssdSession
from abonent.ussd import engine, fast
from abonent.ussd.service import UssdRequest, _step, answer
from tests.factories import charge, make_account
from tests.promised.helpers import D, ledger_counts


async def _rows(db: Database, session_id: str) -> tuple[dict[str, object], dict[str, object]]:
    async with db.session() as s:
        row = await s.get(UssdSession, session_id)
        sms = await s.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"sms:ussd:{session_id}")
        )
    assert row is not None and sms is not None
    return (
        {
            "msisdn": row.msisdn,
            "service_code": row.service_code,
            "status": row.status,
            "state": row.state,
            "steps": row.steps,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        },
        {
            "topic": sms.topic,
            "payload": sms.payload,
            "account_id": sms.account_id,
            "status": sms.status,
            "attempts": sms.attempts,
            "available_at": sms.available_at,
        },
    )


@pytest.mark.postgres_only
async def test_fast_path_writes_the_general_paths_rows(db: Database, clock: FrozenClock) -> None:
    settings = get_settings()
    async with db.session(write=True) as s:
        account, (sim, line) = await make_account(s, kinds=("mobile", "internet"))
        await charge(s, account, 30_000, due=D(2026, 11, 10), service=sim)
        await charge(s, account, 12_000, due=D(2026, 11, 25), service=line)
    msisdn = sim.msisdn or ""
    async with db.session() as s:
        before = await ledger_counts(s)
    quick = await fast.balance(
        db.engine, settings, session_id="f1", msisdn_raw=msisdn, service_code="*100#", text=""
    )
    request = UssdRequest("g1", msisdn, "*100#", "")
    general = await db.run(lambda s: _step(s, settings, request))
    assert quick == general
    assert quick is not None and quick.end
    assert quick.text == (
        f"Долг 420,00 ₽\nМоб. 300; Инт. 120\nДоступно -420,00 ₽\nЛС {account.number}\nДетали в SMS"
    )
    assert await _rows(db, "f1") == await _rows(db, "g1")
    async with db.session() as s:
        assert await ledger_counts(s) == before
    # A reused id: the fast path writes nothing and declines; the answer is the defined one.
    assert (
        await fast.balance(
            db.engine, settings, session_id="f1", msisdn_raw=msisdn, service_code="*100#", text=""
        )
        is None
    )
    reply = await answer(db, settings, UssdRequest("f1", msisdn, "*100#", ""))
    assert (reply.text, reply.end) == (engine.REPEATED, True)
    # Unknown numbers and other dialogues are not its business.
    for sid, phone, code in (("f2", "+79990000000", "*100#"), ("f3", msisdn, "*100*3#")):
        assert (
            await fast.balance(
                db.engine, settings, session_id=sid, msisdn_raw=phone, service_code=code, text=""
            )
            is None
        )
