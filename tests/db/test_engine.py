from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.engine import async_url
from abonent.db.uow import Database
from abonent.ledger.reconcile import reconcile
from abonent.ledger.service import post_charge, post_credit
from abonent.models import AccountBalance, JournalEntry
from tests.factories import make_account


@pytest.mark.parametrize(
    ("plain", "driver"),
    [
        ("sqlite:///var/abonent.db", "sqlite+aiosqlite:///var/abonent.db"),
        ("sqlite:////abs/path.db", "sqlite+aiosqlite:////abs/path.db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgresql://u:secret@h/db", "postgresql+asyncpg://u:secret@h/db"),
    ],
)
def test_plain_urls_get_the_async_driver(plain: str, driver: str) -> None:
    assert async_url(plain) == driver


def test_unsupported_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://root@localhost/db")


def test_db_upgrade_creates_a_fresh_sqlite_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "nested" / "fresh.db"
    monkeypatch.setenv("ABONENT_DATABASE_URL", f"sqlite:///{target}")
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert target.exists()
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0  # idempotent


async def test_concurrent_writers_queue_instead_of_failing(db: Database) -> None:
    """SQLite: BEGIN IMMEDIATE makes writers wait their turn; PostgreSQL: the row lock does."""
    async with db.session(write=True) as s:
        account, _ = await make_account(s)

    async def one(n: int) -> None:
        async def work(s):  # type: ignore[no-untyped-def]
            if n % 2:
                await post_charge(
                    s,
                    account_id=account.id,
                    amount_minor=100,
                    revenue_ledger="revenue:other",
                    due_date=dt.date(2026, 12, 1),
                )
            else:
                await post_credit(
                    s, account_id=account.id, amount_minor=30, counter_ledger="clearing:test"
                )

        await db.run(work)

    await asyncio.gather(*(one(n) for n in range(16)))
    async with db.session() as s:
        balance = await s.get(AccountBalance, account.id)
        assert balance is not None and balance.balance_minor == 8 * 30 - 8 * 100
        assert await s.scalar(select(func.count()).select_from(JournalEntry)) == 16
        assert (await reconcile(s)).clean
