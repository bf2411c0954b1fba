"""`make demo`'s printout says how to log in to the cabinet, with a number that owes on
several services."""

from __future__ import annotations

import asyncio
import re

from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.statement.service import statement_by_number
from abonent.subscribers import service as subscribers
from abonent.subscribers.repository import accounts_of

runner = CliRunner()


def test_demo_prints_the_cabinet_login(env_db: str) -> None:
    result = runner.invoke(app, ["demo", "load", "--seed", "5", "--customers", "20"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "http://127.0.0.1:8000/cabinet/login" in out
    assert "http://127.0.0.1:8000/dev/sms" in out
    assert "http://127.0.0.1:8000/cabinet/find" in out
    found = re.search(r"/cabinet/login with the phone number (\+7\d{10})", out)
    assert found, out
    msisdn = found.group(1)

    async def debts() -> set[str]:
        db = Database(env_db)
        try:
            async with db.session() as s:
                customer = await subscribers.holder_of(s, msisdn)
                assert customer is not None
                owed = set()
                for account in await accounts_of(s, customer):
                    statement = await statement_by_number(s, account.number)
                    owed |= {d.kind for d in statement.debt_by_service if d.debt_minor > 0}
                return owed
        finally:
            await db.dispose()

    assert {"internet", "tv"} <= asyncio.run(debts())
