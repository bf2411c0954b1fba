"""Reconciling a registry against booked payments (service level, on every backend)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from abonent.accounts.service import change_account_status
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.ledger.reconcile import reconcile
from abonent.models import Account, AccountBalance, AuditEvent, Payment, RegistryImport
from abonent.models import RegistryLine as LineRow
from abonent.payments.agents.errors import AgentNotFound
from abonent.payments.registry.errors import (
    RegistryInvalid,
    RegistryNotFound,
    RegistryOptionsInvalid,
)
from abonent.payments.registry.parser import Options
from abonent.payments.registry.service import Outcome, Result, import_registry, load_import
from abonent.payments.service import PaymentRequest, book_payment, reverse_payment
from tests.factories import ACTOR, charge, make_account
from tests.payments.registry.helpers import (
    agent_paid,
    make_agent,
    mistyped,
    msk,
    osmp_date,
    registry,
    snapshot,
    unknown_number,
)

OPERATOR = Actor("cli:operator", "admin")


@dataclass
class World:
    a: str
    b: str
    c: str
    ids: dict[str, int]
    """Payment id by txn_id for what the agent booked over OSMP."""


async def world(db: Database) -> World:
    """Agent SBER has booked T1..T5 and T8 (reversed since); agent QIWI one of its own."""
    async with db.session(write=True) as s:
        sber = await make_agent(s, "SBER")
        qiwi = await make_agent(s, "QIWI")
        a, (sim,) = await make_account(s)
        b, _ = await make_account(s)
        c, _ = await make_account(s)
        await charge(s, a, 40_000, due=dt.date(2026, 11, 1), service=sim)
        ids = {
            "T1": (await agent_paid(s, sber, a, 50_000, "T1", msk(17, 9))).id,
            "T2": (await agent_paid(s, sber, b, 30_000, "T2", msk(17, 10))).id,
            "T3": (await agent_paid(s, sber, a, 20_000, "T3", msk(17, 11))).id,
            "T4": (await agent_paid(s, sber, b, 10_000, "T4", msk(17, 23, 59))).id,
            # The day before the registry's: not the agent's to list today.
            "T5": (await agent_paid(s, sber, a, 70_000, "T5", msk(16, 23, 59))).id,
            "T8": (await agent_paid(s, sber, a, 5_000, "T8", msk(17, 14))).id,
        }
        # Another agent's payment that day, and its own "T1": neither concerns SBER's registry.
        await agent_paid(s, qiwi, c, 99_900, "T1", msk(17, 15))
        await agent_paid(s, qiwi, c, 12_300, "Q9", msk(17, 16))
    async with db.session(write=True) as s:
        await reverse_payment(s, ids["T8"], reason="agent recalled it", actor=ACTOR)
    return World(a.number, b.number, c.number, ids)


def sber_registry(w: World) -> bytes:
    return registry(
        f"T1;{w.a};500,00;{osmp_date(msk(17, 9))}",
        f"T2;{w.b};350,00;{osmp_date(msk(17, 10))}",
        f"T3;{w.c};200,00;{osmp_date(msk(17, 11))}",
        f"T6;{w.c};150,50;{osmp_date(msk(17, 12))}",
        f"T7;{mistyped(w.a)};100,00;{osmp_date(msk(17, 13))}",
        f"T8;{w.a};50,00;{osmp_date(msk(17, 14))}",
        f"T9;{unknown_number()};75,00;{osmp_date(msk(17, 15))}",
    )


async def run(
    db: Database,
    data: bytes,
    *,
    agent: str = "SBER",
    book: bool = False,
    options: Options | None = None,
    on_date: dt.date | None = None,
) -> Result:
    async with db.session(write=True) as s:
        return await import_registry(
            s,
            agent_code=agent,
            file_name="sber-20261117.csv",
            data=data,
            options=options or Options(),
            actor=OPERATOR,
            book_missing=book,
            on_date=on_date,
        )


def by_txn(result: Result) -> dict[str, Outcome]:
    return {line.txn_id: line for line in result.lines}


async def test_every_kind_of_difference_is_told_apart(db: Database, clock) -> None:
    w = await world(db)
    result = await run(db, sber_registry(w))
    got = by_txn(result)
    assert {k: v.outcome for k, v in got.items()} == {
        "T1": "matched",
        "T2": "amount_mismatch",
        "T3": "account_mismatch",
        "T6": "missing_here",
        "T7": "missing_here",
        "T8": "status_mismatch",
        "T9": "missing_here",
        "T4": "unknown_to_agent",
    }
    assert (result.date_from, result.date_to) == (dt.date(2026, 11, 17), dt.date(2026, 11, 17))
    assert got["T1"] == Outcome(
        "matched", "T1", 2, msk(17, 9).astimezone(dt.UTC), w.a, w.a, 50_000, 50_000, w.ids["T1"]
    )
    assert (got["T2"].agent_amount_minor, got["T2"].our_amount_minor) == (35_000, 30_000)
    assert got["T2"].note == "differs by 50,00 ₽"
    assert (got["T3"].account_number, got["T3"].our_account_number) == (w.c, w.a)
    assert got["T3"].note == f"booked here on account {w.a}"
    assert got["T6"].note is None and got["T6"].payment_id is None
    assert got["T7"].note == (
        f"cannot be booked: account {mistyped(w.a)}: "
        "account number check digit does not match (mistyped?)"
    )
    assert got["T8"].note == f"payment {w.ids['T8']} is reversed here: agent recalled it"
    assert got["T9"].note == f"cannot be booked: no account {unknown_number()}"
    assert got["T4"] == Outcome(
        "unknown_to_agent", "T4", None, msk(17, 23, 59).astimezone(dt.UTC),
        None, w.b, None, 10_000, w.ids["T4"],
    )  # fmt: skip
    totals = result.totals()
    assert totals["missing_here"].count == 3
    assert totals["missing_here"].agent_minor == 15_050 + 10_000 + 7_500
    assert totals["missing_here"].our_minor == 0
    assert totals["matched"].agent_minor == totals["matched"].our_minor == 50_000
    assert not result.clean


async def test_a_dry_run_books_nothing_and_is_stored(db: Database, clock) -> None:
    w = await world(db)
    before = await snapshot(db)
    result = await run(db, sber_registry(w))
    after = await snapshot(db)
    assert after["payments"] == before["payments"]
    assert after["journal_entries"] == before["journal_entries"]
    assert after["registry_imports"] == 1
    assert after["registry_lines"] == 8
    assert after["audit_events"] == before["audit_events"] + 1
    async with db.session() as s:
        stored = await load_import(s, result.import_id)
        row = await s.get(RegistryImport, result.import_id)
        assert row is not None
        assert row.registry_date == dt.date(2026, 11, 17)
        assert row.summary["outcomes"]["missing_here"] == {
            "count": 3, "agent_minor": 32_550, "our_minor": 0,
        }  # fmt: skip
        event = await s.scalar(select(AuditEvent).where(AuditEvent.action == "registry.import"))
        assert event is not None and event.actor == "cli:operator"
        assert event.object_id == str(result.import_id)
    assert stored.lines == result.lines
    assert stored.totals() == result.totals()
    assert (stored.date_from, stored.book_missing, stored.registry_lines) == (
        dt.date(2026, 11, 17), False, 7,
    )  # fmt: skip


async def test_book_missing_books_exactly_the_bookable_missing_lines_once(
    db: Database, clock
) -> None:
    w = await world(db)
    async with db.session() as s:
        c = await s.scalar(select(Account).where(Account.number == w.c))
        assert c is not None
        balance_before = await s.get(AccountBalance, c.id)
        assert balance_before is not None
        c_before = balance_before.balance_minor
    before = await snapshot(db)

    first = await run(db, sber_registry(w), book=True)
    got = by_txn(first)
    assert got["T6"].outcome == "booked"
    # The unbookable ones stay missing, saying why; nothing else changed outcome.
    assert [got[t].outcome for t in ("T7", "T9")] == ["missing_here", "missing_here"]
    assert got["T7"].note is not None and got["T7"].note.startswith("cannot be booked")
    assert [got[t].outcome for t in ("T1", "T2", "T3", "T8", "T4")] == [
        "matched", "amount_mismatch", "account_mismatch", "status_mismatch", "unknown_to_agent",
    ]  # fmt: skip
    after = await snapshot(db)
    assert after["payments"] == before["payments"] + 1

    async with db.session() as s:
        booked = await s.get(Payment, got["T6"].payment_id)
        assert booked is not None
        assert (booked.source, booked.source_txn_id, booked.method) == (
            "osmp:SBER",
            "T6",
            "registry",
        )
        assert booked.amount_minor == 15_050 and booked.account_id == c.id
        assert booked.txn_date == msk(17, 12).astimezone(dt.UTC)
        assert booked.comment == f"from registry #{first.import_id} (sber-20261117.csv), line 5"
        assert booked.actor == "cli:operator"
        sber_id = await s.scalar(
            select(Payment.agent_id).where(Payment.id == first.lines[0].payment_id)
        )
        assert booked.agent_id == sber_id
        balance = await s.get(AccountBalance, c.id)
        assert balance is not None and balance.balance_minor == c_before + 15_050
        assert (await reconcile(s)).clean

    # The same file again: nothing is booked twice; T6 is now simply matched.
    second = await run(db, sber_registry(w), book=True)
    assert by_txn(second)["T6"].outcome == "matched"
    assert by_txn(second)["T6"].payment_id == booked.id
    assert second.earlier_runs == [first.import_id]
    again = await snapshot(db)
    assert again["payments"] == after["payments"]
    assert again["journal_entries"] == after["journal_entries"]
    async with db.session() as s:
        assert (await reconcile(s)).clean


async def test_a_later_osmp_retry_of_a_registry_booked_txn_books_nothing(
    db: Database, clock
) -> None:
    async with db.session(write=True) as s:
        agent = await make_agent(s, "SBER")
        account, _ = await make_account(s)
        agent_id = agent.id
    data = registry(f"777;{account.number};250,00;{osmp_date(msk(17, 8))}")
    result = await run(db, data, book=True)
    assert [line.outcome for line in result.lines] == ["booked"]
    async with db.session(write=True) as s:
        retried = await book_payment(
            s,
            PaymentRequest(
                account=account, amount_minor=25_000, method="agent", source="osmp:SBER",
                source_txn_id="777", actor=Actor("agent:SBER"), agent_id=agent_id,
            ),
        )  # fmt: skip
    assert not retried.created
    assert retried.payment.id == result.lines[0].payment_id
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Payment)) == 1


async def test_a_refused_booking_leaves_the_others_booked(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        await make_agent(s, "SBER")
        ok, _ = await make_account(s)
        closed, _ = await make_account(s)
        await change_account_status(s, closed, "closed", actor=ACTOR, reason="moved away")
    data = registry(
        f"1;{closed.number};100,00;{osmp_date(msk(17, 8))}",
        f"2;{ok.number};200,00;{osmp_date(msk(17, 9))}",
    )
    dry = await run(db, data)
    assert by_txn(dry)["1"].note == (
        f"cannot be booked: account {closed.number} is closed and owes nothing"
    )
    result = await run(db, data, book=True)
    got = by_txn(result)
    assert got["1"].outcome == "missing_here"
    assert got["1"].note == f"cannot be booked: account {closed.number} is closed and owes nothing"
    assert got["2"].outcome == "booked"
    async with db.session() as s:
        assert list(await s.scalars(select(Payment.source_txn_id))) == ["2"]
        assert (await reconcile(s)).clean


async def test_lines_outside_the_agents_limits_are_not_booked(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        await make_agent(s, "SBER", min_sum_minor=1_000, max_sum_minor=100_000)
        account, _ = await make_account(s)
    data = registry(
        f"1;{account.number};5,00;{osmp_date(msk(17, 8))}",
        f"2;{account.number};1000,01;{osmp_date(msk(17, 9))}",
        f"3;{account.number};1000,00;{osmp_date(msk(17, 10))}",
    )
    result = await run(db, data, book=True)
    assert [line.outcome for line in result.lines] == ["missing_here", "missing_here", "booked"]
    assert result.lines[0].note == (
        "cannot be booked: outside the agent's limits 10,00 ₽–1 000,00 ₽; "
        "book it by hand if the agent confirms"
    )


async def test_the_span_covers_every_day_of_the_registry(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        agent = await make_agent(s, "SBER")
        account, _ = await make_account(s)
        p15 = await agent_paid(s, agent, account, 1_000, "A", msk(15, 23, 30))
        p16 = await agent_paid(s, agent, account, 2_000, "B", msk(16, 0, 10))
        p17 = await agent_paid(s, agent, account, 3_000, "C", msk(17, 0, 5))
        await agent_paid(s, agent, account, 4_000, "D", msk(18, 0, 5))
    two_days = registry(f"B;{account.number};20,00;{osmp_date(msk(16, 0, 10))}",
                        f"X;{account.number};30,00;{osmp_date(msk(17, 1))}")  # fmt: skip
    result = await run(db, two_days)
    assert (result.date_from, result.date_to) == (dt.date(2026, 11, 16), dt.date(2026, 11, 17))
    unknown = [(x.txn_id, x.payment_id) for x in result.lines if x.outcome == "unknown_to_agent"]
    assert unknown == [("C", p17.id)]
    assert by_txn(result)["B"].payment_id == p16.id
    # --date replaces the span: the 15th's registry, whatever dates its lines carry.
    result = await run(db, two_days, on_date=dt.date(2026, 11, 15))
    unknown = [(x.txn_id, x.payment_id) for x in result.lines if x.outcome == "unknown_to_agent"]
    assert unknown == [("A", p15.id)]
    assert by_txn(result)["B"].outcome == "matched"


async def test_an_empty_registry_for_a_day_lists_all_our_payments(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        agent = await make_agent(s, "SBER")
        account, _ = await make_account(s)
        paid = await agent_paid(s, agent, account, 1_000, "A", msk(17, 10))
    with pytest.raises(RegistryOptionsInvalid) as refused:
        await run(db, registry())
    assert refused.value.code == "registry_empty"
    result = await run(db, registry(), on_date=dt.date(2026, 11, 17))
    assert [(x.outcome, x.payment_id) for x in result.lines] == [("unknown_to_agent", paid.id)]


async def test_a_clean_registry_is_clean(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        agent = await make_agent(s, "SBER")
        account, _ = await make_account(s)
        await agent_paid(s, agent, account, 1_000, "A", msk(17, 10))
    result = await run(db, registry(f"A;{account.number};10;{osmp_date(msk(17, 10))}"))
    assert [x.outcome for x in result.lines] == ["matched"]
    assert result.clean


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1;{n};10,005;20261117100000", "line 2: sum: at most two decimals allowed: '10,005'"),
        ("1;{n};10,00;20261317100000", "line 2: txn_date '20261317100000' is not a date like"),
        ("1;{n};10,00", "line 2: expected 4 fields, found 3"),
    ],
)
async def test_a_bad_file_is_refused_and_changes_nothing(
    db: Database, clock, line: str, reason: str
) -> None:
    w = await world(db)
    before = await snapshot(db)
    good = f"T6;{w.c};150,50;{osmp_date(msk(17, 12))}"
    with pytest.raises(RegistryInvalid) as refused:
        await run(db, registry(line.format(n=w.a), good), book=True)
    assert reason in refused.value.detail
    assert await snapshot(db) == before


async def test_a_missing_column_is_refused_and_changes_nothing(db: Database, clock) -> None:
    w = await world(db)
    before = await snapshot(db)
    data = registry(f"T6;{w.c};{osmp_date(msk(17, 12))}", header="txn_id;account;txn_date")
    with pytest.raises(RegistryInvalid) as refused:
        await run(db, data, book=True)
    assert refused.value.extra["problems"][0].line_no == 1
    assert "the header has 3 columns but 4 are expected" in refused.value.detail
    assert await snapshot(db) == before


async def test_an_unknown_agent_is_refused_and_changes_nothing(db: Database, clock) -> None:
    w = await world(db)
    before = await snapshot(db)
    with pytest.raises(AgentNotFound):
        await run(db, sber_registry(w), agent="NOPE", book=True)
    assert await snapshot(db) == before


async def test_load_import_of_an_unknown_id(db: Database) -> None:
    async with db.session() as s:
        with pytest.raises(RegistryNotFound):
            await load_import(s, 42)


async def test_lines_are_stored_in_report_order(db: Database, clock) -> None:
    w = await world(db)
    result = await run(db, sber_registry(w))
    async with db.session() as s:
        rows = list(
            await s.scalars(
                select(LineRow).where(LineRow.registry_id == result.import_id).order_by(LineRow.id)
            )
        )
    assert [(r.line_no, r.txn_id, r.outcome) for r in rows] == [
        (2, "T1", "matched"),
        (3, "T2", "amount_mismatch"),
        (4, "T3", "account_mismatch"),
        (5, "T6", "missing_here"),
        (6, "T7", "missing_here"),
        (7, "T8", "status_mismatch"),
        (8, "T9", "missing_here"),
        (None, "T4", "unknown_to_agent"),
    ]
