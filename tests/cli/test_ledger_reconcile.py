from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import update
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.models import AccountBalance
from tests.factories import charge, make_account, pay

runner = CliRunner()


def setup_accounts(url: str) -> tuple[str, str]:
    async def go() -> tuple[str, str]:
        db = Database(url)
        try:
            async with db.session(write=True) as s:
                a, (sim,) = await make_account(s)
                b, _ = await make_account(s)
                await charge(s, a, 12_345, due=dt.date(2026, 10, 1), service=sim)
                await pay(s, a, 10_000)
                await pay(s, b, 500)
            return a.number, b.number
        finally:
            await db.dispose()

    return asyncio.run(go())


def tamper(url: str, number_owner: str) -> None:
    async def go() -> None:
        db = Database(url)
        try:
            async with db.session(write=True) as s:
                from abonent.accounts.service import get_account

                account = await get_account(s, number_owner)
                await s.execute(
                    update(AccountBalance)
                    .where(AccountBalance.account_id == account.id)
                    .values(balance_minor=AccountBalance.balance_minor + 1)
                )
        finally:
            await db.dispose()

    asyncio.run(go())


def test_reconcile_clean_then_names_the_drifting_account(env_db: str) -> None:
    a, b = setup_accounts(env_db)
    result = runner.invoke(app, ["ledger", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "2 accounts, 3 entries, no drift" in result.output
    tamper(env_db, b)
    result = runner.invoke(app, ["ledger", "reconcile"])
    assert result.exit_code == 3
    assert b in result.output and a not in result.output
    assert "balance" in result.output
