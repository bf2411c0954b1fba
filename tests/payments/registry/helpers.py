"""Shared setup for registry tests: an agent, payments it already booked, registry files."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.numbers import luhn_check_digit
from abonent.models import (
    Account,
    AuditEvent,
    JournalEntry,
    OutboxMessage,
    Payment,
    PaymentAgent,
    Posting,
    RegistryImport,
    RegistryLine,
)
from abonent.payments.agents.service import create_agent
from abonent.payments.service import PaymentRequest, book_payment
from tests.factories import ACTOR

MSK = ZoneInfo("Europe/Moscow")
HEADER = "txn_id;account;sum;txn_date"


def msk(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=MSK)


def osmp_date(moment: dt.datetime) -> str:
    return moment.astimezone(MSK).strftime("%Y%m%d%H%M%S")


def unknown_number(seed: str = "99999999999") -> str:
    """Well-formed (Luhn valid) but belonging to nobody."""
    return seed + luhn_check_digit(seed)


def mistyped(number: str) -> str:
    """Same shape, wrong check digit."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def registry(*rows: str, header: str | None = HEADER, encoding: str = "utf-8") -> bytes:
    lines = ([header] if header is not None else []) + list(rows)
    return ("\n".join(lines) + "\n").encode(encoding)


async def make_agent(session: AsyncSession, code: str = "SBER", **kw: object) -> PaymentAgent:
    return await create_agent(
        session,
        code=code,
        password="agent-password",
        allowed_ips=["127.0.0.1"],
        actor=ACTOR,
        **kw,  # type: ignore[arg-type]
    )


async def agent_paid(
    session: AsyncSession,
    agent: PaymentAgent,
    account: Account,
    amount_minor: int,
    txn_id: str,
    when: dt.datetime,
) -> Payment:
    """What the OSMP endpoint books for a `pay`: the agent's namespace, its txn_id and date."""
    booked = await book_payment(
        session,
        PaymentRequest(
            account=account,
            amount_minor=amount_minor,
            method="agent",
            source=f"osmp:{agent.code}",
            source_txn_id=txn_id,
            actor=Actor(f"agent:{agent.code}", "agent"),
            txn_date=when,
            agent_id=agent.id,
        ),
    )
    assert booked.created
    return booked.payment


async def snapshot(db: Database) -> dict[str, int]:
    """Row counts of everything an import could touch: a refusal must leave them all alone."""
    async with db.session() as s:
        out = {}
        for model in (
            Payment,
            JournalEntry,
            Posting,
            OutboxMessage,
            AuditEvent,
            RegistryImport,
            RegistryLine,
        ):
            out[model.__tablename__] = await s.scalar(select(func.count()).select_from(model)) or 0
        return out
