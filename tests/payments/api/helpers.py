"""Shared by the payments API tests: accounts with debt, keys, and "nothing changed" snapshots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.models import (
    Account,
    AccountBalance,
    ApiKey,
    AuditEvent,
    IdempotencyKey,
    JournalEntry,
    Payment,
)
from tests.factories import charge, make_account


@dataclass(frozen=True)
class Snapshot:
    payments: int
    entries: int
    audit: int
    keys: int
    balances: tuple[tuple[int, int, int], ...]


async def snapshot(db: Database) -> Snapshot:
    async with db.session() as s:
        rows = (
            await s.execute(
                select(
                    AccountBalance.account_id,
                    AccountBalance.balance_minor,
                    AccountBalance.debt_minor,
                ).order_by(AccountBalance.account_id)
            )
        ).all()
        return Snapshot(
            payments=await s.scalar(select(func.count()).select_from(Payment)) or 0,
            entries=await s.scalar(select(func.count()).select_from(JournalEntry)) or 0,
            audit=await s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            keys=await s.scalar(select(func.count()).select_from(IdempotencyKey)) or 0,
            balances=tuple((r[0], r[1], r[2]) for r in rows),
        )


async def account_with_debt(db: Database, debt_minor: int = 30_000) -> Account:
    """An active account owing ``debt_minor`` on its SIM, overdue since 1 November 2026."""
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        if debt_minor:
            await charge(s, account, debt_minor, due=dt.date(2026, 11, 1), service=sim)
    return account


async def balance(db: Database, account: Account) -> tuple[int, int]:
    async with db.session() as s:
        row = await s.get(AccountBalance, account.id)
        assert row is not None
        return row.balance_minor, row.debt_minor


async def key_id(db: Database, name: str) -> int:
    async with db.session() as s:
        found = await s.scalar(select(ApiKey.id).where(ApiKey.name == name))
        assert found is not None
        return found


def body(account: Account, amount_minor: int = 50_000, **extra: object) -> dict[str, object]:
    return {
        "account_number": account.number,
        "amount_minor": amount_minor,
        "currency": "RUB",
        "method": "api",
        **extra,
    }
