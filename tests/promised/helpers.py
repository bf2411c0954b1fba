"""Accounts with a history, built through the real services at past dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.ledger.service import post_charge
from abonent.models import (
    Account,
    AccountBalance,
    Allocation,
    JournalEntry,
    OpenItem,
    Posting,
    Service,
)
from abonent.payments.service import PaymentRequest, book_payment
from tests.conftest import NOW
from tests.factories import ACTOR, make_account

D = dt.date


async def subscriber(
    db: Database,
    clock: FrozenClock,
    *,
    kinds: Sequence[str] = ("mobile",),
    monthly_minor: int = 60_000,
    overdue: Sequence[tuple[int, int]] = ((0, 25_000),),
    opened_days_ago: int = 120,
) -> tuple[Account, list[Service]]:
    """An account opened ``opened_days_ago``, charged ``monthly_minor`` in each of August,
    September and October 2026 (all paid but ``overdue``: (service index, kopecks) charged on
    1 November, due 10 November, so overdue on the 18th)."""
    clock.at = NOW - dt.timedelta(days=opened_days_ago)
    async with db.session(write=True) as s:
        account, services = await make_account(s, kinds=kinds)
    for month in (8, 9, 10):
        clock.at = dt.datetime(2026, month, 5, 9, tzinfo=dt.UTC)
        async with db.session(write=True) as s:
            await post_charge(
                s,
                account_id=account.id,
                amount_minor=monthly_minor,
                revenue_ledger="revenue:mobile",
                due_date=D(2026, month, 20),
                kind="usage",
                service_id=services[0].id,
                charged_on=D(2026, month, 5),
                description="usage",
            )
            from abonent.ledger.service import post_credit

            await post_credit(
                s,
                account_id=account.id,
                amount_minor=monthly_minor,
                counter_ledger="clearing:test",
                description="paid",
            )
    clock.at = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    async with db.session(write=True) as s:
        for index, amount in overdue:
            await post_charge(
                s,
                account_id=account.id,
                amount_minor=amount,
                revenue_ledger=f"revenue:{services[index].kind}",
                due_date=D(2026, 11, 10),
                kind="usage",
                service_id=services[index].id,
                charged_on=D(2026, 11, 1),
                description="usage",
            )
    clock.at = NOW
    return account, services


async def ledger_counts(s: AsyncSession) -> tuple[int, ...]:
    """Row counts of every ledger table and the sum of balances: equal means nothing posted."""
    counts = []
    for model in (JournalEntry, Posting, OpenItem, Allocation):
        counts.append(int(await s.scalar(select(func.count()).select_from(model)) or 0))
    counts.append(
        int(await s.scalar(select(func.coalesce(func.sum(AccountBalance.balance_minor), 0))) or 0)
    )
    counts.append(
        int(await s.scalar(select(func.coalesce(func.sum(OpenItem.remaining_minor), 0))) or 0)
    )
    return tuple(counts)


async def pay_by_api(db: Database, account: Account, amount: int, txn: str) -> None:
    """A payment through the booking service, in its own unit of work (as the API books one)."""
    async with db.session(write=True) as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        await book_payment(
            s,
            PaymentRequest(
                account=fresh,
                amount_minor=amount,
                method="api",
                source="api:test",
                source_txn_id=txn,
                actor=ACTOR,
            ),
        )
