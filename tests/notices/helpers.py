"""Debtors, notices through the gate, and what the gate left behind, for the notice tests."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.config import NoticeSettings, Settings, get_settings
from abonent.db.uow import Database
from abonent.models import (
    Account,
    ContactLogEntry,
    ContactMessage,
    Customer,
    DebtNotice,
    OutboxMessage,
    ThrottleHit,
)
from abonent.notices import service as notices
from tests.factories import charge, make_account, remember_secret

D = dt.date
UTC = dt.UTC


def at(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=UTC)


def settings_with(**notice: object) -> Settings:
    base = get_settings()
    return base.model_copy(
        update={"notices": NoticeSettings.model_validate({**base.notices.model_dump(), **notice})}
    )


async def debtor(
    db: Database, *, tz: str = "Europe/Moscow", amount_minor: int = 105_000
) -> Account:
    """An account owing ``amount_minor`` (due 10.10.2026) of a customer living in ``tz``."""
    async with db.session(write=True) as s:
        account, services = await make_account(s)
        await charge(s, account, amount_minor, due=D(2026, 10, 10), service=services[0])
        customer = await s.get_one(Customer, account.customer_id)
        customer.timezone = tz
    return account


async def send(
    db: Database,
    account: Account,
    step: str,
    now: dt.datetime,
    settings: Settings | None = None,
) -> notices.NoticeSent:
    async def work(s: AsyncSession) -> notices.NoticeSent:
        fresh = await s.get_one(Account, account.id)
        return await notices.send_debt_notice(s, fresh, step, now, settings=settings)

    return await db.run(work)


async def release(db: Database, now: dt.datetime, settings: Settings | None = None) -> list[str]:
    async def work(s: AsyncSession) -> list[str]:
        done = await notices.release_due(s, now, settings=settings)
        return [o.verdict for o in done]

    return await db.run(work)


async def sms_texts(db: Database) -> list[str]:
    async with db.session() as s:
        rows = await s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.topic == "sms.send")
            .order_by(OutboxMessage.id)
        )
        return [str(m.payload["text"]) for m in rows]


def code_of(text: str) -> str:
    found = re.search(r"Код проверки ([0-9]+)", text)
    assert found is not None, text
    remember_secret(found.group(1))
    return found.group(1)


async def count(db: Database, model: type, *where: object) -> int:
    async with db.session() as s:
        q = select(func.count()).select_from(model)
        for w in where:
            q = q.where(w)  # type: ignore[arg-type]
        return int(await s.scalar(q) or 0)


async def snapshot(db: Database) -> tuple[int, ...]:
    return (
        await count(db, ContactMessage),
        await count(db, ContactLogEntry),
        await count(db, DebtNotice),
        await count(db, OutboxMessage),
        await count(db, ThrottleHit),
    )
