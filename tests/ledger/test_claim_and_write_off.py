"""The ledger's contracts for an accepted claim's credit and for a write-off, called directly:
each refusal leaves the ledger as it was, and a repeat writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.uow import Database
from abonent.ledger.dispute_credit import credit_accepted_claim, set_disputed
from abonent.ledger.errors import UnbalancedEntry
from abonent.ledger.write_off import write_off
from abonent.models import Account, AccountBalance, Allocation, JournalEntry, OpenItem, Posting
from tests.factories import charge, make_account, pay

DUE = dt.date(2026, 11, 15)


async def _ledger(s: AsyncSession, account: Account) -> tuple[int, int, int, int, int]:
    """Counts of entries, postings, items and allocations, and the balance, of one account."""
    entries = await s.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.account_id == account.id)
    )
    postings = await s.scalar(
        select(func.count())
        .select_from(Posting)
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(JournalEntry.account_id == account.id)
    )
    items = await s.scalar(
        select(func.count()).select_from(OpenItem).where(OpenItem.account_id == account.id)
    )
    allocations = await s.scalar(select(func.count()).select_from(Allocation))
    balance = await s.scalar(
        select(AccountBalance.balance_minor).where(AccountBalance.account_id == account.id)
    )
    return (entries or 0, postings or 0, items or 0, allocations or 0, balance or 0)


async def test_a_claim_is_credited_once_and_a_paid_charge_takes_no_allocation(
    db: Database, clock
) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        paid = (await charge(s, account, 500, due=DUE, service=sim)).item
        owed = (await charge(s, account, 800, due=DUE, service=sim)).item
        await pay(s, account, 500)  # clears ``paid`` (oldest first)
        assert paid is not None and owed is not None
        await set_disputed(s, [], True)  # nothing to mark: no statement at all
        first, written = await credit_accepted_claim(
            s, account_id=account.id, dispute_id=7, accepted={paid.id: 500, owed.id: 300}, actor="t"
        )
        assert written is True
        # ``paid`` had nothing left, so the credit went to ``owed`` (300) and then, by the
        # general allocation, the remaining 200 to ``owed`` as well.
        assert (await s.get_one(OpenItem, owed.id)).remaining_minor == 0
        assert (await s.get_one(OpenItem, paid.id)).remaining_minor == 0
        before = await _ledger(s, account)
        again, written = await credit_accepted_claim(
            s, account_id=account.id, dispute_id=7, accepted={owed.id: 300}, actor="t"
        )
        assert written is False
        assert again.entry.id == first.entry.id
        assert await _ledger(s, account) == before


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("other_account", "is not a charge of account"),
        ("zero", "positive kopecks"),
        ("too_much", "more than the charge"),
    ],
)
async def test_a_claim_credit_refusal_changes_nothing(
    db: Database, clock, what: str, message: str
) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        other, _ = await make_account(s)
        item = (await charge(s, account, 800, due=DUE)).item
        foreign = (await charge(s, other, 800, due=DUE)).item
        assert item is not None and foreign is not None
        accepted = {
            "other_account": {foreign.id: 100},
            "zero": {item.id: 0},
            "too_much": {item.id: 801},
        }[what]
        before = await _ledger(s, account)
        with pytest.raises(UnbalancedEntry, match=message):
            await credit_accepted_claim(
                s, account_id=account.id, dispute_id=9, accepted=accepted, actor="t"
            )
        assert await _ledger(s, account) == before


async def test_a_write_off_repeats_as_the_first_and_refuses_when_nothing_is_owed(
    db: Database, clock
) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        item = (await charge(s, account, 900, due=DUE)).item
        settled = (await charge(s, account, 100, due=DUE + dt.timedelta(days=30))).item
        assert item is not None and settled is not None
        first = await write_off(
            s,
            account_id=account.id,
            item_ids=[item.id],
            key="r1",
            business_date=DUE,
            memo="списание",
            actor="t",
        )
        before = await _ledger(s, account)
        again = await write_off(
            s,
            account_id=account.id,
            item_ids=[item.id],
            key="r1",
            business_date=DUE,
            memo="списание",
            actor="t",
        )
        assert again.entry.id == first.entry.id
        assert await _ledger(s, account) == before
        await pay(s, account, 100)
        before = await _ledger(s, account)
        with pytest.raises(UnbalancedEntry, match="nothing remains owed"):
            await write_off(
                s,
                account_id=account.id,
                item_ids=[item.id, settled.id],
                key="r2",
                business_date=DUE,
                memo="списание",
                actor="t",
            )
        assert await _ledger(s, account) == before
