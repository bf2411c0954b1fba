"""Importing rated charges: exact ledger effects, refusals that change nothing, idempotency."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select

from abonent.accounts import service as accounts
from abonent.charges import service as charges_service
from abonent.charges.errors import ChargeFileInvalid
from abonent.charges.service import import_charges
from abonent.db.uow import Database
from abonent.kit.numbers import generate_account_number
from abonent.ledger.reconcile import reconcile
from abonent.models import (
    AccountBalance,
    Allocation,
    AuditEvent,
    JournalEntry,
    OpenItem,
    Posting,
)
from abonent.statement.service import statement_for
from tests.charges.helpers import ACTOR, HEADER, csv_text, snapshot
from tests.factories import ACTOR as FACTORY_ACTOR
from tests.factories import make_account, pay

D = dt.date


def local_msisdn(e164: str) -> str:
    """+79161234567 -> '8 (916) 123-45-67': how people write it."""
    n = e164[2:]
    return f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}"


async def test_import_writes_items_entries_postings_and_balances(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        a, (sim, line) = await make_account(s, kinds=("mobile", "internet"))
        b, (tv,) = await make_account(s, kinds=("tv",))
    text = csv_text(
        [
            ("r1", a.number, local_msisdn(sim.msisdn or ""), "123.45", "usage", "2026-10",
             "2026-10-31", "", ""),
            ("r2", a.number, f"internet:{line.login}", "500", "one_off", "2026-10", "2026-11-01",
             "2026-11-10", "Подключение"),
            ("r3", a.number, "", "10.05", "usage", "2026-10", "2026-10-31", "", "SMS"),
            ("r4", b.number, tv.smart_card or "", '"300,00"', "usage", "2026-11", "2026-11-17",
             "", ""),
        ]
    )  # fmt: skip

    result = await import_charges(db, text, name="rating-2026-10.csv", actor=ACTOR)

    assert (result.rows, result.imported, result.already_there, result.invalid) == (4, 4, 0, 0)
    assert (result.total_minor, result.accounts, result.batches) == (93_350, 2, 1)
    assert result.allocated_minor == 0
    async with db.session() as s:
        items = (await s.scalars(select(OpenItem).order_by(OpenItem.id))).all()
        assert [
            (i.external_id, i.account_id, i.service_id, i.side, i.kind, i.amount_minor,
             i.remaining_minor, i.period, i.charged_on, i.due_date, i.description)
            for i in items
        ] == [
            ("r1", a.id, sim.id, "debit", "usage", 12_345, 12_345, "2026-10", D(2026, 10, 31),
             D(2026, 11, 15), "Услуги связи за 2026-10"),
            ("r2", a.id, line.id, "debit", "one_off", 50_000, 50_000, "2026-10", D(2026, 11, 1),
             D(2026, 11, 10), "Подключение"),
            ("r3", a.id, None, "debit", "usage", 1_005, 1_005, "2026-10", D(2026, 10, 31),
             D(2026, 11, 15), "SMS"),
            ("r4", b.id, tv.id, "debit", "usage", 30_000, 30_000, "2026-11", D(2026, 11, 17),
             D(2026, 12, 2), "Услуги связи за 2026-11"),
        ]  # fmt: skip
        entries = (await s.scalars(select(JournalEntry).order_by(JournalEntry.id))).all()
        assert [(e.account_id, e.kind, e.business_date, e.actor) for e in entries] == [
            (a.id, "charge", D(2026, 11, 18), "cli:test"),
            (b.id, "charge", D(2026, 11, 18), "cli:test"),
        ]
        assert {i.entry_id for i in items} == {entries[0].id, entries[1].id}
        assert items[3].entry_id == entries[1].id
        postings = (
            await s.execute(
                select(Posting.entry_id, Posting.ledger, Posting.amount_minor).order_by(
                    Posting.entry_id, Posting.ledger
                )
            )
        ).all()
        # Revenue by the kind of the service charged (abonent.ledger.chart), whatever the
        # charge kind; a charge with no service is other revenue.
        assert [tuple(p) for p in postings] == [
            (entries[0].id, "revenue:internet", -50_000),
            (entries[0].id, "revenue:mobile", -12_345),
            (entries[0].id, "revenue:other", -1_005),
            (entries[0].id, "subscriber", 63_350),
            (entries[1].id, "revenue:tv", -30_000),
            (entries[1].id, "subscriber", 30_000),
        ]
        balances = (
            await s.execute(
                select(
                    AccountBalance.account_id,
                    AccountBalance.balance_minor,
                    AccountBalance.debt_minor,
                    AccountBalance.entries_count,
                ).order_by(AccountBalance.account_id)
            )
        ).all()
        assert [tuple(row) for row in balances] == [
            (a.id, -63_350, 63_350, 1),
            (b.id, -30_000, 30_000, 1),
        ]
        st = await statement_for(s, a, today=D(2026, 11, 18))
        assert {(d.kind, d.debt_minor, d.overdue_minor) for d in st.debt_by_service} == {
            ("internet", 50_000, 50_000),
            ("mobile", 12_345, 12_345),
            ("account", 1_005, 1_005),
        }
        audit = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "charges.import"))
        ).all()
        assert len(audit) == 1
        assert audit[0].details["imported"] == 4 and audit[0].details["total_minor"] == 93_350
        report = await reconcile(s)
        assert report.clean, report


async def test_every_bad_line_is_reported_and_nothing_changes(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        a, (sim,) = await make_account(s, kinds=("mobile",))
        b, (line,) = await make_account(s, kinds=("internet",))
        await pay(s, a, 5_000)
    typo = a.number[:-1] + str((int(a.number[-1]) + 1) % 10)
    unknown = generate_account_number(random.Random(1))
    assert unknown not in (a.number, b.number)
    ok = ("{id}", a.number, sim.msisdn or "", "10.00", "usage", "2026-10", "2026-10-31", "", "")

    def row(ext: str, **change: str) -> tuple[str, ...]:
        fields = dict(zip(HEADER.split(","), ok, strict=True), external_id=ext)
        fields.update(change)
        return tuple(fields.values())

    text = (
        HEADER + "\n"
        + ",".join(row("ok1")) + "\n"                                        # 2
        + ",".join(row("e3", account_number=typo)) + "\n"                    # 3
        + ",".join(row("e4", account_number="12345")) + "\n"                 # 4
        + ",".join(row("e5", account_number=unknown)) + "\n"                 # 5
        + ",".join(row("e6", amount="10.005")) + "\n"                        # 6
        + ",".join(row("e7", amount="0")) + "\n"                             # 7
        + ",".join(row("e8", amount="-5")) + "\n"                            # 8
        + "\n"                                                               # 9 (blank)
        + ",".join(row("e10", kind="fee")) + "\n"                            # 10
        + ",".join(row("e11", period="2026-13")) + "\n"                      # 11
        + ",".join(row("e12", charged_on="2026-02-30")) + "\n"               # 12
        + ",".join(row("e13", due_date="2026-10-01")) + "\n"                 # 13
        + ",".join(row("e14", charged_on="2026-11-19")) + "\n"               # 14
        + ",".join(row("fee:1:2026-10")) + "\n"                              # 15
        + ",".join(row("e16", service=line.login or "")) + "\n"              # 16
        + ",".join(row("e17", service="nobody_home")) + "\n"                 # 17
        + ",".join(row("dup")) + "\n"                                        # 18
        + ",".join(row("dup", amount="11.00")) + "\n"                        # 19
        + "e20,1,2,3\n"                                                      # 20
        + ",".join(row("e21", amount="abc", kind="")) + "\n"                 # 21
        + ",".join(row("e22", service="mobile:12")) + "\n"                   # 22
        + ",".join(row("")) + "\n"                                           # 23
        + ",".join(row("e24", amount="10000000.01")) + "\n"                  # 24
        + ",".join(row("e25", description="x" * 256)) + "\n"                 # 25
    )  # fmt: skip
    async with db.session() as s:
        before = await snapshot(s)

    with pytest.raises(ChargeFileInvalid) as refused:
        await import_charges(db, text, name="bad.csv", actor=ACTOR)

    assert [(e.line, e.field, e.code) for e in refused.value.errors] == [
        (3, "account_number", "account_number_check_digit"),
        (4, "account_number", "account_number_format"),
        (5, "account_number", "account_not_found"),
        (6, "amount", "amount_precision"),
        (7, "amount", "amount_zero"),
        (8, "amount", "amount_negative"),
        (10, "kind", "kind_invalid"),
        (11, "period", "period_invalid"),
        (12, "charged_on", "date_invalid"),
        (13, "due_date", "due_before_charge"),
        (14, "charged_on", "date_in_future"),
        (15, "external_id", "external_id_reserved"),
        (16, "service", "service_other_account"),
        (17, "service", "service_not_found"),
        (18, "external_id", "external_id_repeated"),
        (19, "external_id", "external_id_repeated"),
        (20, None, "row_width"),
        (21, "amount", "amount_malformed"),
        (21, "kind", "kind_invalid"),
        (22, "service", "msisdn_invalid"),
        (23, "external_id", "external_id_missing"),
        (24, "amount", "amount_too_large"),
        (25, "description", "description_too_long"),
    ]
    assert refused.value.code == "charges_file_invalid"
    assert refused.value.detail == "22 of 23 rows are invalid; nothing was imported"
    messages = {e.line: str(e) for e in refused.value.errors}
    assert messages[6] == "line 6: amount: amount: at most two decimals allowed: '10.005'"
    assert (
        messages[18]
        == "line 18: external_id: 'dup' appears more than once in the file (lines 18, 19)"
    )
    assert messages[5] == f"line 5: account_number: no account {unknown}"
    async with db.session() as s:
        assert await snapshot(s) == before


async def test_same_file_twice_changes_nothing_the_second_time(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        a, (sim,) = await make_account(s)
        b, _ = await make_account(s)
    text = csv_text(
        [
            ("u1", a.number, sim.msisdn or "", "1.10", "usage", "2026-11", "2026-11-01", "", ""),
            ("u2", a.number, "", "2.20", "one_off", "2026-11", "2026-11-02", "", ""),
            ("u3", b.number, "", "3.30", "usage", "2026-11", "2026-11-03", "", ""),
        ]
    )
    first = await import_charges(db, text, name="f.csv", actor=ACTOR)
    async with db.session() as s:
        after_first = await snapshot(s)

    second = await import_charges(db, text, name="f.csv", actor=ACTOR)

    assert (first.imported, first.already_there, first.total_minor) == (3, 0, 660)
    assert (second.imported, second.already_there, second.total_minor, second.batches) == (
        0,
        3,
        0,
        0,
    )
    async with db.session() as s:
        assert await snapshot(s) == after_first
        assert (await reconcile(s)).clean


async def test_same_external_id_with_other_content_is_refused(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        a, _ = await make_account(s)
    row = ["x1", a.number, "", "123.45", "usage", "2026-11", "2026-11-01", "", ""]
    await import_charges(db, csv_text([row]), name="f.csv", actor=ACTOR)
    async with db.session() as s:
        before = await snapshot(s)
    changed = [*row[:3], "123.46", "one_off", *row[5:]]

    with pytest.raises(ChargeFileInvalid) as refused:
        await import_charges(db, csv_text([changed]), name="g.csv", actor=ACTOR)

    assert [str(e) for e in refused.value.errors] == [
        "line 2: external_id: 'x1' was already imported with another amount (123.45 there), "
        "kind (usage there)"
    ]
    async with db.session() as s:
        assert await snapshot(s) == before


async def test_skip_invalid_imports_the_good_lines_and_reports_the_rest(
    db: Database, clock
) -> None:
    async with db.session(write=True) as s:
        a, _ = await make_account(s)
    text = csv_text(
        [
            ("g1", a.number, "", "5.00", "usage", "2026-11", "2026-11-01", "", ""),
            ("b1", a.number, "", "5.001", "usage", "2026-11", "2026-11-01", "", ""),
            ("g2", a.number, "", "7.00", "one_off", "2026-11", "2026-11-01", "", ""),
            ("b2", a.number, "", "7.00", "other", "2026-11", "2026-11-01", "", ""),
        ]
    )
    result = await import_charges(db, text, name="f.csv", actor=ACTOR, skip_invalid=True)
    assert (result.rows, result.imported, result.invalid, result.total_minor) == (4, 2, 2, 1_200)
    assert [(e.line, e.code) for e in result.errors] == [
        (3, "amount_precision"),
        (5, "kind_invalid"),
    ]
    async with db.session() as s:
        assert (await s.scalars(select(OpenItem.external_id).order_by(OpenItem.id))).all() == [
            "g1",
            "g2",
        ]
        balance = await s.get(AccountBalance, a.id)
        assert balance is not None and (balance.balance_minor, balance.debt_minor) == (
            -1_200,
            1_200,
        )


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (
            "external_id,account_number,service,kind,period,charged_on",
            "required columns missing: amount",
        ),
        (
            "external_id,account_number,amount,kind,period,charged_on,colour",
            "unknown columns 'colour'; known: external_id, account_number, service, amount, kind, "
            "period, charged_on, due_date, description",
        ),
    ],
)
async def test_a_bad_header_refuses_the_file_even_with_skip_invalid(
    db: Database, clock, header: str, problem: str
) -> None:
    async with db.session(write=True) as s:
        a, _ = await make_account(s)
    text = header + "\n" + f"h1,{a.number},1.00,usage,2026-11,2026-11-01,x\n"
    with pytest.raises(ChargeFileInvalid) as refused:
        await import_charges(db, text, name="f.csv", actor=ACTOR, skip_invalid=True)
    assert [(e.line, e.code, e.message) for e in refused.value.errors] == [
        (1, "header_invalid", problem)
    ]
    async with db.session() as s:
        assert (await snapshot(s)).items == ()


async def test_a_file_that_is_not_utf8_is_refused_at_its_line(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        a, _ = await make_account(s)
    text = csv_text(
        [
            ("w1", a.number, "", "1.00", "usage", "2026-11", "2026-11-01", "", "ok"),
            ("w2", a.number, "", "1.00", "usage", "2026-11", "2026-11-01", "", "Звонки"),
        ]
    )
    with pytest.raises(ChargeFileInvalid) as refused:
        await import_charges(db, text.encode("cp1251"), name="f.csv", actor=ACTOR)
    assert [(e.line, e.code) for e in refused.value.errors] == [(3, "file_encoding")]


async def test_prepaid_money_clears_the_new_charges_oldest_due_first(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        a, (sim,) = await make_account(s)
        await pay(s, a, 100_000)
    text = csv_text(
        [
            ("p1", a.number, sim.msisdn or "", "600", "usage", "2026-11", "2026-11-10",
             "2026-11-25", ""),
            ("p2", a.number, sim.msisdn or "", "700", "usage", "2026-11", "2026-11-05",
             "2026-11-20", ""),
        ]
    )  # fmt: skip
    result = await import_charges(db, text, name="f.csv", actor=ACTOR)
    assert result.allocated_minor == 100_000
    async with db.session() as s:
        items = {
            i.external_id: (i.amount_minor, i.remaining_minor)
            for i in (await s.scalars(select(OpenItem).where(OpenItem.side == "debit"))).all()
        }
        assert items == {"p1": (60_000, 30_000), "p2": (70_000, 0)}
        balance = await s.get(AccountBalance, a.id)
        assert balance is not None
        assert (balance.balance_minor, balance.debt_minor, balance.entries_count) == (
            -30_000,
            30_000,
            2,
        )
        entry_id = await s.scalar(select(JournalEntry.id).where(JournalEntry.kind == "charge"))
        allocations = (
            await s.execute(
                select(Allocation.amount_minor, Allocation.entry_id).order_by(Allocation.id)
            )
        ).all()
        assert [tuple(x) for x in allocations] == [(70_000, entry_id), (30_000, entry_id)]
        assert (await reconcile(s)).clean


async def test_batches_commit_one_entry_per_account_each(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        a, _ = await make_account(s)
        b, _ = await make_account(s)
    rows = [
        (
            f"k{n}",
            (a if n % 2 else b).number,
            "",
            f"{n}.00",
            "usage",
            "2026-11",
            "2026-11-01",
            "",
            "",
        )
        for n in range(1, 6)
    ]
    result = await import_charges(db, csv_text(rows), name="f.csv", actor=ACTOR, batch_size=2)
    assert (result.imported, result.batches, result.accounts, result.total_minor) == (
        5,
        3,
        5,
        1_500,
    )
    async with db.session() as s:
        balances = {
            row.account_id: (row.balance_minor, row.entries_count)
            for row in (await s.scalars(select(AccountBalance))).all()
        }
        # a: k1, k3, k5 in batches 1, 2, 3; b: k2, k4 in batches 1, 2.
        assert balances == {a.id: (-900, 3), b.id: (-600, 2)}
        assert len((await s.scalars(select(JournalEntry.id))).all()) == 5
        assert (await reconcile(s)).clean


async def test_a_crash_between_batches_is_repaired_by_running_the_file_again(
    db: Database, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.session(write=True) as s:
        a, _ = await make_account(s)
    rows = [
        (f"c{n}", a.number, "", "1.00", "usage", "2026-11", "2026-11-01", "", "") for n in range(5)
    ]
    text = csv_text(rows)
    real = charges_service.write_batch
    calls = 0

    async def crashing(session, batch, **kw):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        written = await real(session, batch, **kw)
        if calls == 2:
            raise RuntimeError("power cut")  # after writing: the unit of work rolls it back
        return written

    monkeypatch.setattr(charges_service, "write_batch", crashing)
    with pytest.raises(RuntimeError, match="power cut"):
        await import_charges(db, text, name="f.csv", actor=ACTOR, batch_size=2)
    async with db.session() as s:
        assert (await s.scalars(select(OpenItem.external_id).order_by(OpenItem.id))).all() == [
            "c0",
            "c1",
        ]
    monkeypatch.setattr(charges_service, "write_batch", real)

    again = await import_charges(db, text, name="f.csv", actor=ACTOR, batch_size=2)

    assert (again.imported, again.already_there) == (3, 2)
    async with db.session() as s:
        balance = await s.get(AccountBalance, a.id)
        assert balance is not None and (balance.balance_minor, balance.debt_minor) == (-500, 500)
        assert len((await s.scalars(select(OpenItem.id))).all()) == 5
        assert (await reconcile(s)).clean


async def test_a_closed_account_still_takes_a_late_charge(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        a, (sim,) = await make_account(s)
        await accounts.change_account_status(
            s, a, "closed", actor=FACTORY_ACTOR, reason="subscriber left"
        )
    text = csv_text(
        [("late1", a.number, sim.msisdn or "", "42.00", "usage", "2026-10", "2026-10-30", "", "")]
    )
    result = await import_charges(db, text, name="f.csv", actor=ACTOR)
    assert result.imported == 1
    async with db.session() as s:
        balance = await s.get(AccountBalance, a.id)
        assert balance is not None and balance.debt_minor == 4_200


async def test_services_are_found_by_every_usual_spelling(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        a, (sim, line, tv) = await make_account(s, kinds=("mobile", "internet", "tv"))
        # An internet login that happens to be the TV card number: only a prefix tells them apart.
        twin = await accounts.add_service(
            s,
            a,
            accounts.ServiceSpec(kind="internet", login=tv.smart_card),
            actor=FACTORY_ACTOR,
        )
    msisdn = sim.msisdn or ""
    spellings = [
        msisdn,
        msisdn[1:],
        local_msisdn(msisdn),
        f"+7 ({msisdn[2:5]}) {msisdn[5:8]}-{msisdn[8:10]}-{msisdn[10:]}",
        f"mobile: {msisdn}",
        line.login or "",
        f"internet:{line.login}",
        f"TV:{tv.smart_card}",
        f"internet:{tv.smart_card}",
    ]
    text = csv_text(
        [
            (f"s{n}", a.number, f'"{sp}"', "1.00", "usage", "2026-11", "2026-11-01", "", "")
            for n, sp in enumerate(spellings)
        ]
        + [("amb", a.number, tv.smart_card or "", "1.00", "usage", "2026-11", "2026-11-01", "", "")]
    )
    result = await import_charges(db, text, name="f.csv", actor=ACTOR, skip_invalid=True)
    assert [(e.line, e.code) for e in result.errors] == [(11, "service_ambiguous")]
    async with db.session() as s:
        found = (
            await s.execute(select(OpenItem.external_id, OpenItem.service_id).order_by(OpenItem.id))
        ).all()
    assert [service_id for _, service_id in found] == [
        sim.id, sim.id, sim.id, sim.id, sim.id, line.id, line.id, tv.id, twin.id,
    ]  # fmt: skip
