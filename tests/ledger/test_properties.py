"""Hypothesis properties of the ledger and allocation, against the real database.

Each example opens a fresh account in the test's database and applies a random sequence of
charges (on random services, due in the past or future), payments and reversals through the
services, then checks the invariants DESIGN.md §6 names.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.ledger.chart import SUBSCRIBER_LEDGER
from abonent.ledger.errors import AlreadyReversed
from abonent.ledger.reconcile import reconcile
from abonent.ledger.service import reverse_entry
from abonent.models import AccountBalance, Allocation, OpenItem, Posting
from abonent.statement.service import statement_for
from tests.conftest import PG_URL
from tests.factories import charge, make_account, pay

TODAY = dt.date(2026, 11, 18)
amounts = st.integers(min_value=1, max_value=300_000)
operation = st.one_of(
    st.tuples(st.just("charge"), amounts, st.integers(0, 2), st.integers(-120, 40)),
    st.tuples(st.just("pay"), amounts),
    st.tuples(st.just("reverse"), st.integers(0, 10_000)),
)
EXAMPLES = 15 if PG_URL else 30
common = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@common
@given(ops=st.lists(operation, min_size=1, max_size=20))
async def test_ledger_invariants_hold_for_any_sequence(db: Database, ops: list[tuple]) -> None:
    async with db.session(write=True) as s:
        account, services = await make_account(s, kinds=("mobile", "internet", "tv"))
    expected_balance = 0
    effects: list[tuple[int, int]] = []  # (entry id, effect on balance)
    reversed_ids: set[int] = set()
    for op in ops:
        if op[0] == "reverse":
            if not effects:
                continue
            entry_id, effect = effects[op[1] % len(effects)]
            async with db.session() as s:
                before = await s.get(AccountBalance, account.id)
                assert before is not None
                balance_before = before.balance_minor
            try:
                async with db.session(write=True) as s:
                    await reverse_entry(s, entry_id, reason="property", actor="test")
            except AlreadyReversed:
                assert entry_id in reversed_ids
                async with db.session() as s:
                    after = await s.get(AccountBalance, account.id)
                    assert after is not None and after.balance_minor == balance_before
                continue
            assert entry_id not in reversed_ids
            reversed_ids.add(entry_id)
            expected_balance -= effect
            # A reversal restores the balance to what it was without the reversed entry.
            async with db.session() as s:
                after = await s.get(AccountBalance, account.id)
                assert after is not None and after.balance_minor == balance_before - effect
            continue
        async with db.session(write=True) as s:
            if op[0] == "charge":
                _, amount, which, due_offset = op
                posted = await charge(
                    s,
                    account,
                    amount,
                    service=services[which],
                    due=TODAY + dt.timedelta(days=due_offset),
                )
                effects.append((posted.entry.id, -amount))
                expected_balance -= amount
            else:
                posted = await pay(s, account, op[1])
                effects.append((posted.entry.id, op[1]))
                expected_balance += op[1]

    async with db.session() as s:
        balance = await s.get(AccountBalance, account.id)
        assert balance is not None
        assert balance.balance_minor == expected_balance
        # Balance = minus the subscriber's postings; every entry sums to zero.
        posted_total = await s.scalar(
            select(func.sum(Posting.amount_minor)).where(
                Posting.account_id == account.id, Posting.ledger == SUBSCRIBER_LEDGER
            )
        )
        assert -(posted_total or 0) == expected_balance
        unbalanced = await s.scalar(
            select(func.count()).select_from(
                select(Posting.entry_id)
                .where(Posting.account_id == account.id)
                .group_by(Posting.entry_id)
                .having(func.sum(Posting.amount_minor) != 0)
                .subquery()
            )
        )
        assert unbalanced == 0
        items = list(await s.scalars(select(OpenItem).where(OpenItem.account_id == account.id)))
        for item in items:
            assert 0 <= item.remaining_minor <= item.amount_minor
        # Allocation never clears more than a credit brought, nor more than a debit asked.
        allocations = list(
            await s.scalars(select(Allocation).where(Allocation.account_id == account.id))
        )
        by_item = {item.id: item for item in items}
        cleared: dict[int, int] = {}
        for row in allocations:
            for item_id in (row.debit_item_id, row.credit_item_id):
                cleared[item_id] = cleared.get(item_id, 0) + row.amount_minor
        for item_id, total in cleared.items():
            item = by_item[item_id]
            assert total == item.amount_minor - item.remaining_minor
        # Allocation is complete: money and debt never sit side by side.
        debt = sum(i.remaining_minor for i in items if i.side == "debit")
        credit = sum(i.remaining_minor for i in items if i.side == "credit")
        assert debt == max(0, -expected_balance) and credit == max(0, expected_balance)
        assert balance.debt_minor == debt
        st_ = await statement_for(s, account, today=TODAY)
        assert st_.debt_minor == debt
        assert sum(line.debt_minor for line in st_.debt_by_service) == debt
        assert st_.overdue_minor + st_.ageing.not_due == debt
        assert (await reconcile(s)).clean


@common
@given(
    charges=st.lists(st.tuples(amounts, st.integers(-90, 30)), min_size=1, max_size=12),
    payment=amounts,
)
async def test_payments_clear_the_oldest_due_first(
    db: Database, charges: list[tuple[int, int]], payment: int
) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        for amount, offset in charges:
            await charge(s, account, amount, service=sim, due=TODAY + dt.timedelta(days=offset))
        await pay(s, account, payment)
    async with db.session() as s:
        items = list(
            await s.scalars(
                select(OpenItem)
                .where(OpenItem.account_id == account.id, OpenItem.side == "debit")
                .order_by(OpenItem.due_date, OpenItem.id)
            )
        )
    # Cleared items form a prefix in due order, then at most one partly paid, then untouched.
    left = payment
    for item in items:
        expected_remaining = item.amount_minor - min(left, item.amount_minor)
        left -= item.amount_minor - expected_remaining
        assert item.remaining_minor == expected_remaining
