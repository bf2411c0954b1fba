"""Subscribers with accounts, and reading the login code back out of the outbox."""

from __future__ import annotations

from sqlalchemy import select

from abonent.db.uow import Database
from abonent.models import Account, OutboxMessage, Service
from tests.factories import make_account, remember_secret


async def sim_holder(db: Database, kinds: tuple[str, ...] = ("mobile",)) -> tuple[str, Account]:
    async with db.session(write=True) as s:
        account, services = await make_account(s, kinds=kinds)
    sim = next(x for x in services if x.kind == "mobile")
    assert sim.msisdn is not None
    return sim.msisdn, account


async def codes_sent(db: Database, msisdn: str) -> list[str]:
    async with db.session() as s:
        rows = (
            await s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.topic == "sms.send")
                .order_by(OutboxMessage.id)
            )
        ).all()
    found = []
    for row in rows:
        if row.payload.get("kind") == "login_code" and row.payload["to"] == msisdn:
            code = row.payload["text"].split(": ")[1][:6]
            remember_secret(code)
            found.append(code)
    return found


async def sms_count(db: Database) -> int:
    async with db.session() as s:
        return len((await s.scalars(select(OutboxMessage.id))).all())


async def services_of(db: Database, account: Account) -> list[Service]:
    async with db.session() as s:
        return list(
            (await s.scalars(select(Service).where(Service.account_id == account.id))).all()
        )
