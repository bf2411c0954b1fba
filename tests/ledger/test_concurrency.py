"""Many writers on one account, on PostgreSQL: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.ledger.reconcile import reconcile
from abonent.ledger.service import post_charge, post_credit
from abonent.models import AccountBalance, JournalEntry
from abonent.statement.service import statement_for
from tests.factories import make_account

pytestmark = pytest.mark.postgres_only


async def test_twenty_concurrent_writers_on_one_account(db: Database) -> None:
    async with db.session(write=True) as s:
        account, (sim, line) = await make_account(s, kinds=("mobile", "internet"))
    writers, rounds = 20, 10

    async def writer(n: int) -> None:
        for r in range(rounds):
            if n % 2:

                async def work(s, r=r):  # type: ignore[no-untyped-def]
                    await post_charge(
                        s,
                        account_id=account.id,
                        amount_minor=1_000 + n,
                        revenue_ledger="revenue:mobile",
                        service_id=(sim if r % 2 else line).id,
                        due_date=dt.date(2026, 10, 1) + dt.timedelta(days=r),
                    )
            else:

                async def work(s):  # type: ignore[no-untyped-def]
                    await post_credit(
                        s,
                        account_id=account.id,
                        amount_minor=700 + n,
                        counter_ledger="clearing:test",
                    )

            await db.run(work)

    await asyncio.gather(*(writer(n) for n in range(writers)))

    charged = sum((1_000 + n) * rounds for n in range(writers) if n % 2)
    paid = sum((700 + n) * rounds for n in range(writers) if not n % 2)
    async with db.session() as s:
        balance = await s.get(AccountBalance, account.id)
        assert balance is not None
        assert balance.balance_minor == paid - charged
        assert balance.debt_minor == charged - paid
        assert balance.entries_count == writers * rounds
        assert await s.scalar(select(func.count()).select_from(JournalEntry)) == writers * rounds
        statement = await statement_for(s, account, today=dt.date(2026, 11, 18))
        assert statement.debt_minor == charged - paid
        report = await reconcile(s)
        assert report.clean, report
