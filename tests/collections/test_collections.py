"""Agencies, hand-over and recall, and the four-eyes write-off to the bad-debt ledger."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from abonent.collections import service as collections
from abonent.collections.errors import (
    AgencyExists,
    InnInvalid,
    NothingToHandOver,
    RoleRefused,
    SameApprover,
)
from abonent.collections.inn import is_valid_inn
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.ledger.chart import BAD_DEBT_LEDGER, SUBSCRIBER_LEDGER
from abonent.ledger.reconcile import reconcile
from abonent.models import (
    Account,
    AccountBalance,
    AssignmentItem,
    AuditEvent,
    CollectionAgency,
    CollectionAssignment,
    JournalEntry,
    OpenItem,
    OutboxMessage,
    Posting,
    WriteOffRequest,
)
from tests.factories import charge, make_account, pay

D = dt.date
COLLECTOR = Actor("staff:anna", "collections")
SUPERVISOR = Actor("staff:boris", "supervisor")
OTHER_SUPERVISOR = Actor("staff:vera", "supervisor")
CLERK = Actor("staff:clerk", "clerk")
TODAY = D(2026, 11, 18)


def test_inn_checksum() -> None:
    assert is_valid_inn("7707083893")
    assert is_valid_inn("500100732259")
    assert not is_valid_inn("7707083894")
    assert not is_valid_inn("500100732258")
    assert not is_valid_inn("770708389")
    assert not is_valid_inn("77070838９3")


async def _debtor(db: Database) -> Account:
    """Two overdue charges (300 ₽ due 10.10, 200 ₽ due 10.11) and one not yet due (100 ₽)."""
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        await charge(s, account, 30_000, due=D(2026, 10, 10))
        await charge(s, account, 20_000, due=D(2026, 11, 10))
        await charge(s, account, 10_000, due=D(2026, 11, 25))
    return account


async def _agency(db: Database) -> CollectionAgency:
    async with db.session(write=True) as s:
        return await collections.add_agency(
            s, name="ООО «Возврат»", inn="7707083893", commission_bp=1_500, actor=COLLECTOR
        )


async def _count(db: Database, model: type) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_agency_refusals_change_nothing(db: Database) -> None:
    with pytest.raises(InnInvalid):
        async with db.session(write=True) as s:
            await collections.add_agency(s, name="A", inn="7707083894", actor=COLLECTOR)
    with pytest.raises(RoleRefused):
        async with db.session(write=True) as s:
            await collections.add_agency(s, name="A", inn="7707083893", actor=CLERK)
    assert await _count(db, CollectionAgency) == 0
    await _agency(db)
    with pytest.raises(AgencyExists):
        async with db.session(write=True) as s:
            await collections.add_agency(s, name="B", inn="7707083893", actor=COLLECTOR)
    assert await _count(db, CollectionAgency) == 1


async def test_handover_is_idempotent_and_recall_frees_the_items(
    db: Database, clock: FrozenClock
) -> None:
    account = await _debtor(db)
    agency = await _agency(db)
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        first = await collections.handover(s, fresh, agency.id, actor=COLLECTOR, as_of=TODAY)
    assert first.created
    assert first.assignment.amount_minor == 50_000
    assert [row.amount_minor for row in first.items] == [30_000, 20_000]
    # The 30th working day after Wednesday 18.11.2026 (six full weeks, then 28-30 December).
    assert first.assignment.notice_due_on == D(2026, 12, 30)
    assert first.assignment.notice_status == "queued"
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        again = await collections.handover(s, fresh, agency.id, actor=COLLECTOR, as_of=TODAY)
    assert not again.created
    assert again.assignment.id == first.assignment.id
    assert await _count(db, CollectionAssignment) == 1
    assert await _count(db, AssignmentItem) == 2
    async with db.session() as s:
        notices = list(
            await s.scalars(
                select(OutboxMessage).where(OutboxMessage.topic == "collections.notice")
            )
        )
    assert [(n.account_id, n.payload["agency"]) for n in notices] == [(account.id, "ООО «Возврат»")]

    async with db.session(write=True) as s:
        recalled = await collections.recall(
            s, first.assignment.id, actor=COLLECTOR, as_of=D(2026, 12, 1)
        )
    assert (recalled.status, recalled.recalled_on) == ("recalled", D(2026, 12, 1))
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        second = await collections.handover(s, fresh, agency.id, actor=COLLECTOR, as_of=TODAY)
    assert second.created and second.assignment.id != first.assignment.id
    assert second.assignment.amount_minor == 50_000


async def test_handover_refusals(db: Database) -> None:
    agency = await _agency(db)
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        await charge(s, account, 10_000, due=D(2026, 11, 25))
    with pytest.raises(NothingToHandOver):
        async with db.session(write=True) as s:
            fresh = await s.get_one(Account, account.id)
            await collections.handover(s, fresh, agency.id, actor=COLLECTOR, as_of=TODAY)
    with pytest.raises(RoleRefused):
        async with db.session(write=True) as s:
            fresh = await s.get_one(Account, account.id)
            await collections.handover(s, fresh, agency.id, actor=CLERK, as_of=D(2026, 12, 1))
    assert await _count(db, CollectionAssignment) == 0
    assert await _count(db, OutboxMessage) == 0


async def _ledger_snapshot(db: Database) -> tuple[int, int, int]:
    return (
        await _count(db, JournalEntry),
        await _count(db, Posting),
        await _count(db, OpenItem),
    )


async def test_write_off_needs_two_people_and_a_supervisor(db: Database) -> None:
    account = await _debtor(db)
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        request = await collections.request_write_off(
            s, fresh, reason="должник умер", actor=SUPERVISOR, as_of=TODAY
        )
    before = await _ledger_snapshot(db)
    with pytest.raises(SameApprover) as same:
        async with db.session(write=True) as s:
            await collections.approve_write_off(s, request.id, actor=SUPERVISOR, as_of=TODAY)
    assert same.value.code == "write_off_same_person"
    with pytest.raises(RoleRefused):
        async with db.session(write=True) as s:
            await collections.approve_write_off(s, request.id, actor=COLLECTOR, as_of=TODAY)
    assert await _ledger_snapshot(db) == before
    async with db.session() as s:
        assert (await s.get_one(WriteOffRequest, request.id)).status == "requested"


async def test_write_off_moves_the_debt_to_bad_debt_once(db: Database) -> None:
    account = await _debtor(db)
    async with db.session(write=True) as s:
        await pay(s, await s.get_one(Account, account.id), 5_000)
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        request = await collections.request_write_off(
            s, fresh, reason="безнадёжна", actor=COLLECTOR, as_of=TODAY
        )
    assert request.amount_minor == 55_000
    for _ in range(2):
        async with db.session(write=True) as s:
            done = await collections.approve_write_off(
                s, request.id, actor=OTHER_SUPERVISOR, as_of=TODAY
            )
    assert done.status == "approved" and done.approved_by == "staff:vera"
    async with db.session() as s:
        entries = list(
            await s.scalars(select(JournalEntry).where(JournalEntry.kind == "write_off"))
        )
        assert len(entries) == 1
        legs = sorted(
            (p.ledger, p.amount_minor)
            for p in await s.scalars(select(Posting).where(Posting.entry_id == entries[0].id))
        )
        assert legs == [(BAD_DEBT_LEDGER, 55_000), (SUBSCRIBER_LEDGER, -55_000)]
        balance = await s.get_one(AccountBalance, account.id)
        assert (balance.debt_minor, balance.balance_minor) == (0, 0)
        subscriber_sum = await s.scalar(
            select(func.sum(Posting.amount_minor)).where(
                Posting.account_id == account.id, Posting.ledger == SUBSCRIBER_LEDGER
            )
        )
        assert balance.balance_minor == -int(subscriber_sum or 0)
        report = await reconcile(s)
        assert report.clean, report
        # The charges stay in the history, cleared.
        remaining = [
            i.remaining_minor
            for i in await s.scalars(
                select(OpenItem).where(OpenItem.account_id == account.id, OpenItem.side == "debit")
            )
        ]
        assert remaining == [0, 0, 0]
        actions = [
            e.action
            for e in await s.scalars(
                select(AuditEvent)
                .where(AuditEvent.object_type == "write_off")
                .order_by(AuditEvent.id)
            )
        ]
        assert actions == ["write_off.request", "write_off.approve"]


async def test_write_off_leaves_a_charge_posted_after_the_request(
    db: Database, clock: FrozenClock
) -> None:
    account = await _debtor(db)
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        request = await collections.request_write_off(
            s, fresh, reason="безнадёжна", actor=COLLECTOR, as_of=TODAY
        )
    clock.at = clock.at + dt.timedelta(hours=1)
    async with db.session(write=True) as s:
        await charge(s, await s.get_one(Account, account.id), 7_000, due=D(2026, 12, 10))
    async with db.session(write=True) as s:
        await collections.approve_write_off(s, request.id, actor=SUPERVISOR, as_of=TODAY)
    async with db.session() as s:
        balance = await s.get_one(AccountBalance, account.id)
        assert (balance.debt_minor, balance.balance_minor) == (7_000, -7_000)
        assert (await reconcile(s)).clean
