"""Imports racing payments and each other on PostgreSQL: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import func, select

from abonent.charges.service import import_charges
from abonent.db.uow import Database
from abonent.ledger.reconcile import reconcile
from abonent.models import AccountBalance, OpenItem, Payment
from abonent.payments.service import PaymentRequest, book_payment
from tests.charges.helpers import ACTOR, csv_text
from tests.factories import make_account, pay

pytestmark = pytest.mark.postgres_only


async def _accounts(db: Database, n: int, prepaid_minor: int):  # type: ignore[no-untyped-def]
    async with db.session(write=True) as s:
        made = [await make_account(s) for _ in range(n)]
        for account, _ in made:
            await pay(s, account, prepaid_minor)
    return made


def _file(made, rows: int, seed: int) -> tuple[str, dict[int, int]]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    per_account: dict[int, int] = {}
    lines = []
    for n in range(rows):
        account, (sim,) = made[rng.randrange(len(made))]
        kopecks = rng.randint(1, 50_000)
        per_account[account.id] = per_account.get(account.id, 0) + kopecks
        day = 1 + n % 17
        lines.append(
            (
                f"race-{seed}-{n}",
                account.number,
                sim.msisdn,
                f"{kopecks // 100}.{kopecks % 100:02d}",
                "usage",
                "2026-11",
                f"2026-11-{day:02d}",
                "",
                "",
            )
        )
    return csv_text(lines), per_account


async def test_import_racing_payments_on_the_same_accounts(db: Database, clock) -> None:
    made = await _accounts(db, 6, prepaid_minor=200_000)
    text, charged = _file(made, 3_000, seed=1)
    payments = [(made[n % len(made)][0], 10_000 + n) for n in range(60)]

    async def payer(n: int) -> None:
        account, amount = payments[n]

        async def work(s):  # type: ignore[no-untyped-def]
            return await book_payment(
                s,
                PaymentRequest(
                    account=account,
                    amount_minor=amount,
                    method="office",
                    source="office",
                    source_txn_id=f"desk-{n}",
                    actor=ACTOR,
                ),
            )

        await asyncio.sleep(random.Random(n).uniform(0, 0.3))
        await db.run(work)

    results = await asyncio.gather(
        import_charges(db, text, name="race.csv", actor=ACTOR, batch_size=250),
        *(payer(n) for n in range(len(payments))),
    )

    assert results[0].imported == 3_000
    paid: dict[int, int] = {}
    for account, amount in payments:
        paid[account.id] = paid.get(account.id, 0) + amount
    async with db.session() as s:
        for account, _ in made:
            balance = await s.get(AccountBalance, account.id)
            assert balance is not None
            expected = 200_000 + paid[account.id] - charged.get(account.id, 0)
            assert balance.balance_minor == expected
            assert balance.debt_minor == max(0, -expected)
        assert await s.scalar(select(func.count()).select_from(Payment)) == len(payments)
        assert (
            await s.scalar(
                select(func.count()).select_from(OpenItem).where(OpenItem.side == "debit")
            )
            == 3_000
        )
        report = await reconcile(s)
        assert report.clean, report


async def test_the_same_file_imported_twice_at_once_is_written_once(db: Database, clock) -> None:
    made = await _accounts(db, 4, prepaid_minor=50_000)
    text, charged = _file(made, 2_000, seed=2)

    first, second = await asyncio.gather(
        import_charges(db, text, name="a.csv", actor=ACTOR, batch_size=300),
        import_charges(db, text, name="a.csv", actor=ACTOR, batch_size=300),
    )

    assert first.imported + second.imported == 2_000
    assert first.already_there + second.already_there == 2_000
    async with db.session() as s:
        assert (
            await s.scalar(
                select(func.count()).select_from(OpenItem).where(OpenItem.side == "debit")
            )
            == 2_000
        )
        for account, _ in made:
            balance = await s.get(AccountBalance, account.id)
            assert balance is not None
            assert balance.balance_minor == 50_000 - charged.get(account.id, 0)
        report = await reconcile(s)
        assert report.clean, report
