"""The ledger's refusals, healing paths and the bulk path's contract, each shown once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from abonent.charges.errors import ChargeConflict, ChargeFileInvalid
from abonent.charges.schemas import NewCharge
from abonent.charges.service import import_charges
from abonent.charges.writer import write_batch
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.ledger.allocation import match, open_item
from abonent.ledger.balances import lock_accounts, lock_balance
from abonent.ledger.bulk import post_charges
from abonent.ledger.chart import CREDIT, DEBIT, revenue_ledger
from abonent.ledger.errors import UnbalancedEntry
from abonent.ledger.reconcile import reconcile
from abonent.ledger.service import Leg, post_entry
from abonent.models import Account, AccountBalance, JournalEntry, OpenItem
from abonent.payments.errors import AmountInvalid
from abonent.payments.service import PaymentRequest, book_payment
from tests.charges.helpers import csv_text, snapshot
from tests.factories import ACTOR, charge, make_account, pay

D = dt.date


def _charge(account_id: int, external_id: str, amount: int = 1_000, **kw: object) -> NewCharge:
    fields: dict[str, object] = {
        "external_id": external_id,
        "account_id": account_id,
        "service_id": None,
        "amount_minor": amount,
        "kind": "usage",
        "ledger": revenue_ledger(None),
        "period": "2026-11",
        "charged_on": D(2026, 11, 1),
        "due_date": D(2026, 11, 15),
        "description": "edge",
    }
    fields.update(kw)
    return NewCharge(**fields)  # type: ignore[arg-type]


async def test_a_missing_balance_row_is_healed_by_the_first_money_operation(
    db: Database, clock
) -> None:
    async with db.session(write=True) as s:
        one, _ = await make_account(s)
        two, _ = await make_account(s)
        await s.execute(
            delete(AccountBalance).where(AccountBalance.account_id.in_([one.id, two.id]))
        )
    async with db.session(write=True) as s:
        await pay(s, one, 700)
    text = csv_text([("heal-1", two.number, "", "5.00", "usage", "2026-11", "2026-11-01", "", "")])
    await import_charges(db, text, name="heal.csv", actor=ACTOR)
    async with db.session() as s:
        rows = {
            b.account_id: (b.balance_minor, b.debt_minor, b.entries_count)
            for b in await s.scalars(select(AccountBalance))
        }
        assert rows[one.id] == (700, 0, 1) and rows[two.id] == (-500, 500, 1)
        assert (await reconcile(s)).clean


async def test_reconcile_names_each_kind_of_drift(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        posted = await charge(s, account, 1_000, due=D(2026, 11, 1))
    async with db.session(write=True) as s:
        await s.execute(
            update(AccountBalance)
            .where(AccountBalance.account_id == account.id)
            .values(
                debt_minor=AccountBalance.debt_minor + 1,
                balance_minor=AccountBalance.balance_minor + 2,
            )
        )
        assert posted.item is not None
        await s.execute(
            update(OpenItem).where(OpenItem.id == posted.item.id).values(remaining_minor=400)
        )
    async with db.session() as s:
        report = await reconcile(s)
    assert not report.clean
    assert {(d.what, d.stored_minor, d.computed_minor) for d in report.drifts} == {
        ("balance", -998, -1_000),
        ("debt", 1_001, 400),
        ("open_items", 400, 1_000),
    }


async def test_an_entry_refuses_a_balance_row_of_another_account(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        one, _ = await make_account(s)
        two, _ = await make_account(s)
        locked = await lock_balance(s, one.id)
        with pytest.raises(AssertionError, match="another account"):
            await post_entry(
                s,
                account_id=two.id,
                kind="charge",
                legs=[Leg("subscriber", 1), Leg("revenue:other", -1)],
                business_date=D(2026, 11, 18),
                locked=locked,
            )


def test_an_allocation_cannot_clear_beyond_what_remains() -> None:
    entry = JournalEntry(id=1, account_id=1)
    balance = AccountBalance(account_id=1, balance_minor=0, debt_minor=100, entries_count=1)
    debit = open_item(entry, DEBIT, "usage", 100, D(2026, 11, 1), currency="RUB")
    credit = open_item(entry, CREDIT, "payment", 50, D(2026, 11, 1), currency="RUB")
    with pytest.raises(AssertionError, match="beyond what remains"):
        match(balance, debit, credit, 60, entry)
    # Re-opening more than was ever cleared would push an item past its amount.
    with pytest.raises(AssertionError, match="out of bounds"):
        match(balance, debit, credit, -1, entry)


async def test_bulk_posting_refuses_unlocked_accounts_and_bad_amounts(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        other, _ = await make_account(s)
    async with db.session(write=True) as s:
        before = await snapshot(s)
        locked = await lock_accounts(s, [account.id])
        assert locked == {account.id: "RUB"}
        kw = {"entry_kind": "charge", "source": "edge", "memo": "edge", "actor": "test"}
        with pytest.raises(AssertionError, match="not locked"):
            await post_charges(s, locked, [_charge(other.id, "e-1")], **kw)
        for bad in (0, -5):
            with pytest.raises(UnbalancedEntry):
                await post_charges(s, locked, [_charge(account.id, "e-2", bad)], **kw)  # type: ignore[arg-type]
        assert await post_charges(s, locked, [], **kw) == (await post_charges(s, {}, [], **kw))
        assert await snapshot(s) == before


async def test_bulk_posting_refreshes_a_balance_row_the_session_holds(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    async with db.session(write=True) as s:
        held = await lock_balance(s, account.id)
        # Other rows the session holds are left as they are.
        holder = await s.get_one(Account, account.id)
        locked = await lock_accounts(s, [account.id])
        posted = await post_charges(
            s,
            locked,
            [_charge(account.id, "r-1", 300), _charge(account.id, "r-2", 200)],
            entry_kind="charge",
            source="edge",
            memo="edge",
            actor="test",
        )
        assert (posted.total_minor, posted.accounts, posted.allocated_minor) == (500, 1, 0)
        # The object loaded before the set-based UPDATE shows what it wrote.
        assert (held.balance_minor, held.debt_minor, held.entries_count) == (-500, 500, 1)
        assert holder.number == account.number


@pytest.mark.postgres_only
async def test_copy_errors_come_out_as_the_unit_of_work_knows_them(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    text = csv_text(
        [("dup-1", account.number, "", "1.00", "usage", "2026-11", "2026-11-01", "", "")]
    )
    await import_charges(db, text, name="dup.csv", actor=ACTOR)
    kw = {"entry_kind": "charge", "source": "edge", "memo": "edge", "actor": "test"}
    # An external id already in the ledger (the caller's to avoid) fails the unique index.
    with pytest.raises(IntegrityError):
        async with db.session(write=True) as s:
            locked = await lock_accounts(s, [account.id])
            await post_charges(s, locked, [_charge(account.id, "dup-1")], **kw)
    # Any other refusal of the database keeps its own class.
    with pytest.raises(DBAPIError) as refused:
        async with db.session(write=True) as s:
            locked = await lock_accounts(s, [account.id])
            await post_charges(s, locked, [_charge(account.id, "long", period="2026-11-30")], **kw)
    assert not isinstance(refused.value, IntegrityError)
    # Not the database's: a value the driver cannot encode is raised as it is.
    with pytest.raises(Exception) as unencodable:
        async with db.session(write=True) as s:
            locked = await lock_accounts(s, [account.id])
            await post_charges(s, locked, [_charge(account.id, "bad", charged_on="x")], **kw)
    assert not isinstance(unencodable.value, DBAPIError)
    async with db.session() as s:
        assert (await reconcile(s)).clean


async def test_a_conflicting_reimport_names_every_field_that_differs(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        a, (sim,) = await make_account(s)
        b, _ = await make_account(s)
    row = ["x1", a.number, sim.msisdn or "", "1.00", "usage", "2026-11", "2026-11-01", "", ""]
    await import_charges(db, csv_text([row]), name="f.csv", actor=ACTOR)
    moved = ["x1", b.number, "", "1.00", "usage", "2026-10", "2026-10-01", "", ""]
    with pytest.raises(ChargeFileInvalid) as refused:
        await import_charges(db, csv_text([moved]), name="g.csv", actor=ACTOR)
    assert [str(e) for e in refused.value.errors] == [
        "line 2: external_id: 'x1' was already imported with another account, service, "
        "period (2026-11 there)"
    ]


async def test_a_booking_refuses_bad_method_txn_id_and_amount(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        before = await snapshot(s)

    def request(**kw: object) -> PaymentRequest:
        fields: dict[str, object] = {
            "account": account,
            "amount_minor": 100,
            "method": "office",
            "source": "office",
            "source_txn_id": "t-1",
            "actor": Actor("staff:test", "admin"),
        }
        fields.update(kw)
        return PaymentRequest(**fields)  # type: ignore[arg-type]

    for bad, code in (
        (request(method="pigeon"), "method_invalid"),
        (request(source_txn_id=""), "txn_id_invalid"),
        (request(source_txn_id="t" * 129), "txn_id_invalid"),
        (request(amount_minor=0), "amount_invalid"),
        (request(currency="USD"), "currency_mismatch"),
    ):
        with pytest.raises(AmountInvalid) as refused:
            await db.run(lambda s, r=bad: book_payment(s, r))
        assert refused.value.code == code
    async with db.session() as s:
        assert await snapshot(s) == before


async def test_a_batch_refuses_a_conflict_that_appeared_after_the_check(
    db: Database, clock
) -> None:
    # The import checks external ids before its batches; a concurrent import can add one in
    # between, and the batch, under its locks, refuses it rather than count it as there.
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    line = ("race-1", account.number, "", "1.00", "usage", "2026-11", "2026-11-01", "", "")
    await import_charges(db, csv_text([line]), name="race.csv", actor=ACTOR)
    async with db.session() as s:
        before = await snapshot(s)
    with pytest.raises(ChargeConflict) as refused:
        await db.run(
            lambda s: write_batch(
                s,
                [_charge(account.id, "race-1", 200)],
                entry_kind="charge",
                source="race",
                memo="race",
                actor=ACTOR,
                audit_action="charges.import",
                audit_object="race",
            )
        )
    assert [e.code for e in refused.value.errors] == ["external_id_conflict"]
    async with db.session() as s:
        assert await snapshot(s) == before
