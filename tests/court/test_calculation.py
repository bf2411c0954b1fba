"""The claim's calculation read from the ledger, split on the limitation's exact last day."""

from __future__ import annotations

import datetime as dt

import pytest

from abonent.collections import service as collections
from abonent.court.calculation import calculate
from abonent.court.fee import AboveOrderLimit
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.errors import BusinessRuleViolation
from abonent.models import Account, CollectionAssignment
from tests.factories import charge, make_account, pay

D = dt.date
STAFF = Actor("staff:anna", "collections")


async def _account(db: Database, amounts: list[tuple[int, dt.date]], paid: int = 0) -> Account:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        for amount, due in amounts:
            await charge(s, account, amount, due=due, service=sim)
        if paid:
            await pay(s, account, paid)
    return account


async def _hand_over(db: Database, account: Account, as_of: dt.date) -> int:
    async with db.session(write=True) as s:
        agency = await collections.add_agency(s, name="Агентство", inn="7707083893", actor=STAFF)
        fresh = await s.get_one(Account, account.id)
        handed = await collections.handover(s, fresh, agency.id, actor=STAFF, as_of=as_of)
        return handed.assignment.id


async def _recall(db: Database, assignment_id: int, as_of: dt.date) -> None:
    async with db.session(write=True) as s:
        await collections.recall(s, assignment_id, actor=STAFF, as_of=as_of)


async def _through_agency(db: Database, account: Account, as_of: dt.date) -> None:
    """Handed over and recalled: the agency stage is over."""
    await _recall(db, await _hand_over(db, account, as_of), as_of)


async def _calculate(db: Database, account: Account, as_of: dt.date) -> int:
    async with db.session() as s:
        fresh = await s.get_one(Account, account.id)
        return (await calculate(s, fresh, actor=STAFF, as_of=as_of)).claim_minor


async def test_limitation_split_and_sums(db: Database) -> None:
    account = await _account(
        db,
        [(40_000, D(2023, 11, 10)), (30_000, D(2023, 11, 11)), (50_000, D(2026, 10, 10))],
        paid=10_000,
    )
    await _through_agency(db, account, D(2026, 11, 12))
    async with db.session() as s:
        fresh = await s.get_one(Account, account.id)
        claim = await calculate(s, fresh, actor=STAFF, as_of=D(2026, 11, 11))
    # Due 10.11.2023: the term ended on 10.11.2026, so on the 11th it is time-barred.
    assert [
        (b.due_date, b.amount_minor, b.paid_minor, b.remaining_minor) for b in claim.time_barred
    ] == [(D(2023, 11, 10), 40_000, 10_000, 30_000)]
    assert [(x.due_date, x.remaining_minor, x.service) for x in claim.lines] == [
        (D(2023, 11, 11), 30_000, "mobile"),
        (D(2026, 10, 10), 50_000, "mobile"),
    ]
    assert claim.claim_minor == 80_000
    assert claim.fee_minor == 200_000


async def test_refusals(db: Database) -> None:
    account = await _account(db, [(60_000_000, D(2026, 10, 10))])
    async with db.session() as s:
        fresh = await s.get_one(Account, account.id)
        with pytest.raises(BusinessRuleViolation) as early:
            await calculate(s, fresh, actor=STAFF, as_of=D(2026, 11, 18))
    assert early.value.code == "court_needs_agency_stage"
    assignment = await _hand_over(db, account, D(2026, 11, 18))
    # With the agency: its stage is not over until the debt is recalled from it.
    async with db.session() as s:
        fresh = await s.get_one(Account, account.id)
        with pytest.raises(BusinessRuleViolation) as held:
            await calculate(s, fresh, actor=STAFF, as_of=D(2026, 11, 18))
    assert held.value.code == "court_agency_stage_active"
    assert held.value.extra == {"assignment_ids": [assignment]}
    assert held.value.detail == (
        f"Долг ещё у коллекторского агентства (передача № {assignment}): отзовите его, "
        "прежде чем готовить заявление в суд."
    )
    await _recall(db, assignment, D(2026, 11, 18))
    async with db.session() as s:
        fresh = await s.get_one(Account, account.id)
        with pytest.raises(AboveOrderLimit):
            await calculate(s, fresh, actor=STAFF, as_of=D(2026, 11, 18))


async def test_an_assignment_paid_off_leaves_nothing_with_the_agency(db: Database) -> None:
    """The agency stage ends when the agency holds no open debt: its charge paid ends it as a
    recall does, though the assignment is still active; a charge overdue since and never
    handed over is then claimed."""
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 30_000, due=D(2026, 8, 10), service=sim)
    assignment = await _hand_over(db, account, D(2026, 9, 20))
    async with db.session(write=True) as s:
        await charge(s, account, 25_000, due=D(2026, 10, 10), service=sim)
    with pytest.raises(BusinessRuleViolation) as held:
        await _calculate(db, account, D(2026, 11, 18))
    assert held.value.code == "court_agency_stage_active"
    async with db.session(write=True) as s:
        await pay(s, await s.get_one(Account, account.id), 30_000)  # the oldest charge first
    assert await _calculate(db, account, D(2026, 11, 18)) == 25_000
    async with db.session() as s:
        assert (await s.get_one(CollectionAssignment, assignment)).status == "active"
