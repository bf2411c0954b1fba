from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from abonent.db.uow import Database
from abonent.ledger.errors import AlreadyReversed, EntryNotFound, NotReversible, UnbalancedEntry
from abonent.ledger.service import Leg, post_entry, reverse_entry
from abonent.models import AccountBalance, JournalEntry, Posting
from abonent.statement.service import statement_for
from tests.factories import charge, make_account, pay

D = dt.date


async def test_charge_then_partial_payment_clears_oldest_first(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, (sim, line) = await make_account(s, kinds=("mobile", "internet"))
        await charge(s, account, 50_000, due=D(2026, 10, 15), service=line)
        await charge(s, account, 30_000, due=D(2026, 9, 15), service=sim)
        await charge(s, account, 20_000, due=D(2026, 11, 30), service=sim)
        await pay(s, account, 40_000)
    async with db.session() as s:
        st = await statement_for(s, account, today=D(2026, 11, 18))
    # 30_000 (Sept, SIM) cleared fully, then 10_000 of the October internet charge.
    assert st.balance_minor == -60_000
    assert st.debt_minor == 60_000
    assert st.overdue_minor == 40_000
    assert st.next_due_date == D(2026, 11, 30)
    by = {d.kind: (d.debt_minor, d.overdue_minor) for d in st.debt_by_service}
    assert by == {"internet": (40_000, 40_000), "mobile": (20_000, 0)}
    assert st.ageing.days_31_60 == 40_000 and st.ageing.not_due == 20_000


async def test_unbalanced_entry_is_refused_and_changes_nothing(db: Database) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    with pytest.raises(UnbalancedEntry):
        async with db.session(write=True) as s:
            await post_entry(
                s,
                account_id=account.id,
                kind="adjustment",
                legs=[Leg("subscriber", 100), Leg("revenue:other", -99)],
                business_date=D(2026, 11, 1),
            )
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(JournalEntry)) == 0
        bal = await s.get(AccountBalance, account.id)
        assert bal is not None and bal.balance_minor == 0


async def test_reversed_payment_reopens_the_charges_it_paid(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 10_000, due=D(2026, 10, 1), service=sim)
        paid = await pay(s, account, 15_000)
    async with db.session(write=True) as s:
        await reverse_entry(s, paid.entry.id, reason="bank recalled", actor="test")
    async with db.session() as s:
        st = await statement_for(s, account, today=D(2026, 11, 18))
        assert (st.balance_minor, st.debt_minor, st.overdue_minor) == (-10_000, 10_000, 10_000)
        assert st.debt_by_service[0].service_id == sim.id
    with pytest.raises(AlreadyReversed):
        async with db.session(write=True) as s:
            await reverse_entry(s, paid.entry.id, reason="again", actor="test")


async def test_postings_are_append_only_in_the_database(db: Database) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        await charge(s, account, 100, due=D(2026, 11, 1))
        await pay(s, account, 100)
    for sql in (
        "UPDATE postings SET amount_minor = 0",
        "DELETE FROM postings",
        "DELETE FROM journal_entries",
        "UPDATE allocations SET amount_minor = 1",
    ):
        with pytest.raises(DBAPIError):
            async with db.session(write=True) as s:
                await s.execute(text(sql))
    async with db.session() as s:
        total = await s.scalar(select(func.sum(Posting.amount_minor)))
        assert total == 0
        assert await s.scalar(select(func.count()).select_from(Posting)) == 4


@pytest.mark.parametrize(
    "legs",
    [
        [Leg("subscriber", 100)],
        [Leg("subscriber", 100), Leg("revenue:other", -100.0)],  # type: ignore[arg-type]
        [Leg("subscriber", True), Leg("revenue:other", -1)],  # type: ignore[arg-type]
        [Leg("subscriber", 0), Leg("revenue:other", 0)],
    ],
)
async def test_malformed_entries_are_refused(db: Database, legs: list[Leg]) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    with pytest.raises(UnbalancedEntry):
        async with db.session(write=True) as s:
            await post_entry(
                s, account_id=account.id, kind="adjustment", legs=legs, business_date=D(2026, 11, 1)
            )
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(JournalEntry)) == 0


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
async def test_charges_and_credits_need_positive_kopecks(db: Database, amount: object) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    for post in (charge, pay):
        with pytest.raises(UnbalancedEntry):
            async with db.session(write=True) as s:
                if post is charge:
                    await charge(s, account, amount, due=D(2026, 12, 1))  # type: ignore[arg-type]
                else:
                    await pay(s, account, amount)  # type: ignore[arg-type]
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(JournalEntry)) == 0


async def test_unknown_entries_and_reversals_are_not_reversed(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        paid = await pay(s, account, 5_000)
    with pytest.raises(EntryNotFound):
        async with db.session(write=True) as s:
            await reverse_entry(s, 999_999, reason="typo", actor="test")
    async with db.session(write=True) as s:
        reversal = await reverse_entry(s, paid.entry.id, reason="duplicate", actor="test")
    with pytest.raises(NotReversible):
        async with db.session(write=True) as s:
            await reverse_entry(s, reversal.entry.id, reason="undo the undo", actor="test")
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(JournalEntry)) == 2
        bal = await s.get(AccountBalance, account.id)
        assert bal is not None and (bal.balance_minor, bal.debt_minor) == (0, 0)
