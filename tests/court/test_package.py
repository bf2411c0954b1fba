"""The court-order package: its snapshot, the PDF read back, the stages, and every refusal."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.collections import service as collections
from abonent.court import package, service
from abonent.db.uow import Database
from abonent.disputes import service as disputes
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.kit.errors import AbonentError, Forbidden
from abonent.kit.money import format_money
from abonent.models import (
    Account,
    AuditEvent,
    CollectionAssignment,
    CourtCase,
    CourtCaseLine,
    CourtStageEvent,
    OpenItem,
)
from tests.factories import charge, make_account, pay

D = dt.date
STAFF = Actor("staff:7:olga", "collections")
PASSPORT = "4510123456"
runner = CliRunner()


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def money(minor: int) -> str:
    return " ".join(format_money(minor).split())


async def debtor(
    db: Database, *, disputed: bool = False, recalled: bool = True
) -> tuple[Account, list[int]]:
    """Three charges: one past the limitation, two within it (one of them partly paid), and
    optionally a fourth under an open dispute; handed over to an agency and (unless
    ``recalled`` is false) recalled from it: the agency stage is over."""
    async with db.session(write=True) as s:
        account, (sim, line) = await make_account(
            s, kinds=("mobile", "internet"), full_name="Петров Пётр Петрович", passport=PASSPORT
        )
        await charge(s, account, 70_000, due=D(2023, 10, 10), service=sim)
        await charge(s, account, 120_000, due=D(2026, 8, 15), service=line)
        await charge(s, account, 45_050, due=D(2026, 9, 15), service=sim)
        if disputed:
            await charge(s, account, 99_900, due=D(2026, 10, 15), service=line)
        await pay(s, account, 20_000)
    async with db.session() as s:
        found = (
            await s.scalars(
                select(OpenItem.id)
                .where(OpenItem.account_id == account.id, OpenItem.side == "debit")
                .order_by(OpenItem.due_date)
            )
        ).all()
    ids = list(found)
    if disputed:
        async with db.session(write=True) as s:
            fresh = await s.get_one(Account, account.id)
            await disputes.file_dispute(
                s,
                fresh,
                claims={ids[3]: None},
                text="Не пользовался",
                channel="desk",
                actor=Actor("staff:1:clerk", "clerk"),
            )
    async with db.session(write=True) as s:
        agency = await collections.add_agency(s, name="Агентство", inn="7707083893", actor=STAFF)
        fresh = await s.get_one(Account, account.id)
        handed = await collections.handover(s, fresh, agency.id, actor=STAFF, as_of=D(2026, 11, 1))
        if recalled:
            await collections.recall(s, handed.assignment.id, actor=STAFF, as_of=D(2026, 11, 10))
    return account, ids


async def counts(db: Database) -> tuple[int, int, int]:
    async with db.session() as s:
        return (
            await s.scalar(select(func.count()).select_from(CourtCase)) or 0,
            await s.scalar(select(func.count()).select_from(CourtCaseLine)) or 0,
            await s.scalar(select(func.count()).select_from(CourtStageEvent)) or 0,
        )


async def test_package_snapshot_and_pdf_match_the_ledger(db: Database, clock: FrozenClock) -> None:
    account, ids = await debtor(db, disputed=True)
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        case = await service.build_package(s, fresh, actor=STAFF, as_of=D(2026, 11, 18))
        pdf = await package.render(s, case.id, actor=STAFF)
    async with db.session() as s:
        items = {
            i.id: i for i in (await s.scalars(select(OpenItem).where(OpenItem.id.in_(ids)))).all()
        }
        shown = await service.view(s, case.id, actor=STAFF)
        audit = (await s.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    parts = {line.open_item_id: line.part for line in shown.lines}
    assert parts == {
        ids[0]: "time_barred",
        ids[1]: "claimed",
        ids[2]: "claimed",
        ids[3]: "disputed",
    }
    # The payment of 200 ₽ cleared the oldest charge first: what the ledger still holds is claimed.
    claimed = items[ids[1]].remaining_minor + items[ids[2]].remaining_minor
    assert case.claim_minor == claimed == 120_000 + 45_050
    assert case.time_barred_minor == items[ids[0]].remaining_minor == 50_000
    assert case.fee_minor == 200_000  # half of 4 000 ₽: a claim up to 100 000 ₽
    for line in shown.lines:
        item = items[line.open_item_id]
        assert (line.amount_minor, line.owed_minor) == (
            item.amount_minor,
            item.remaining_minor,
        )
        assert line.paid_minor == item.amount_minor - item.remaining_minor

    text = text_of(pdf)
    assert pdf.startswith(b"%PDF")
    assert "Заявление о вынесении судебного приказа" in text
    assert "Петров Пётр Петрович" in text
    assert "серия 4510 № 123456" in text
    assert f"Итого к взысканию: {money(claimed)}" in text
    assert f"Государственная пошлина: {money(200_000)}" in text
    assert f"Итого не заявлено: {money(50_000)}" in text
    assert "Начисления по претензии абонента" in text
    assert "10.10.2023" in text and "15.09.2026" in text
    # The passport left the database: that is an audited reveal, with the case as its reason.
    assert "court.package" in audit and "customer.passport_reveal" in audit


async def test_reprint_reads_the_same_after_a_payment(db: Database, clock: FrozenClock) -> None:
    account, _ = await debtor(db)
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        case = await service.build_package(s, fresh, actor=STAFF, as_of=D(2026, 11, 18))
        first = text_of(await package.render(s, case.id, actor=STAFF))
    async with db.session(write=True) as s:
        await pay(s, account, 30_000)
    async with db.session(write=True) as s:
        again = text_of(await package.render(s, case.id, actor=STAFF))
    assert first == again


async def test_one_live_case_per_account_and_the_stages(db: Database, clock: FrozenClock) -> None:
    account, _ = await debtor(db)
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        case = await service.build_package(s, fresh, actor=STAFF, as_of=D(2026, 11, 18))
    before = await counts(db)
    with pytest.raises(service.CaseOpen):
        async with db.session(write=True) as s:
            fresh = await s.get_one(Account, account.id)
            await service.build_package(s, fresh, actor=STAFF, as_of=D(2026, 11, 19))
    assert await counts(db) == before

    refusals: list[tuple[str, dt.date, str, str]] = [
        ("enforced", D(2026, 11, 20), "", "court_stage_not_allowed"),
        ("flying", D(2026, 11, 20), "", "court_stage_unknown"),
        ("filed", D(2026, 11, 17), "", "court_stage_date"),
        ("filed", D(2026, 11, 20), "line\nbreak", "court_note_invalid"),
    ]
    for stage, on, note, code in refusals:
        with pytest.raises(AbonentError) as refused:
            async with db.session(write=True) as s:
                await service.record_stage(s, case.id, stage, actor=STAFF, on=on, note=note)
        assert refused.value.code == code
        assert await counts(db) == before

    for stage in ("filed", "order_issued", "cancelled"):
        async with db.session(write=True) as s:
            await service.record_stage(
                s, case.id, stage, actor=STAFF, on=D(2026, 11, 25), note="№ 2-1/2026"
            )
    with pytest.raises(service.StageNotAllowed):
        async with db.session(write=True) as s:
            await service.record_stage(s, case.id, "enforced", actor=STAFF, on=D(2026, 12, 1))
    async with db.session(write=True) as s:
        shown = await service.view(s, case.id, actor=STAFF)
        assert [e.stage for e in shown.stages] == ["prepared", "filed", "order_issued", "cancelled"]
        # A cancelled order closes the case: a new application may follow.
        fresh = await s.get_one(Account, account.id)
        second = await service.build_package(s, fresh, actor=STAFF, as_of=D(2026, 12, 1))
    assert second.id != case.id


async def test_roles_and_unknown_cases(db: Database, clock: FrozenClock) -> None:
    account, _ = await debtor(db)
    hotline = Actor("staff:3:ivan", "hotline")
    before = await counts(db)
    with pytest.raises(Forbidden):
        async with db.session(write=True) as s:
            fresh = await s.get_one(Account, account.id)
            await service.build_package(s, fresh, actor=hotline, as_of=D(2026, 11, 18))
    with pytest.raises(service.CaseNotFound):
        async with db.session(write=True) as s:
            await package.render(s, 999_999, actor=STAFF)
    with pytest.raises(service.CaseNotFound):
        async with db.session(write=True) as s:
            await service.record_stage(s, 999_999, "filed", actor=STAFF, on=D(2026, 11, 18))
    with pytest.raises(AbonentError) as unknown:
        async with db.session() as s:
            await service.list_cases(s, actor=STAFF, stage="nope")
    assert unknown.value.code == "court_stage_unknown"
    assert await counts(db) == before


def test_cli_package_stage_show(env_db: str, clock: FrozenClock, tmp_path: Path) -> None:
    import asyncio

    async def make() -> str:
        db = Database(env_db)
        try:
            account, _ = await debtor(db)
            return account.number
        finally:
            await db.dispose()

    number = asyncio.run(make())
    out = tmp_path / "claim.pdf"
    done = runner.invoke(
        app, ["court", "package", number, "--date", "2026-11-18", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert "case " in done.output and money(165_050) in " ".join(done.output.split())
    assert "Петров Пётр Петрович" in text_of(out.read_bytes())
    case_id = done.output.split("case ", 1)[1].split(":", 1)[0]

    filed = runner.invoke(app, ["court", "stage", case_id, "filed", "--date", "2026-11-20"])
    assert filed.exit_code == 0, filed.output
    shown = runner.invoke(app, ["court", "show", case_id])
    assert shown.exit_code == 0 and "20.11.2026 filed" in shown.output
    listed = runner.invoke(app, ["court", "list", "--stage", "filed"])
    assert f"case {case_id}:" in listed.output
    reprint = tmp_path / "again.pdf"
    assert runner.invoke(app, ["court", "pdf", case_id, "--out", str(reprint)]).exit_code == 0
    assert text_of(reprint.read_bytes()) == text_of(out.read_bytes())

    bad: list[tuple[list[str], int, str]] = [
        (["court", "package", number, "--date", "18.11.2026"], 2, "expected YYYY-MM-DD"),
        (["court", "package", "12345"], 1, "error"),
        (["court", "stage", case_id, "enforced"], 1, "court_stage_not_allowed"),
        (["court", "stage", "999999", "filed"], 1, "court_case_not_found"),
        (["court", "package", number, "--out", str(tmp_path / "no" / "x.pdf")], 2, "existing"),
    ]
    for args, code, said in bad:
        result = runner.invoke(app, args)
        assert result.exit_code == code, (args, result.output)
        assert said in " ".join(result.output.split()), (args, result.output)
        assert "Traceback" not in result.output


def test_cli_package_is_refused_while_an_agency_holds_the_debt(
    env_db: str, clock: FrozenClock, tmp_path: Path
) -> None:
    """The agency stage is over only when the agency holds none of the debt: before the
    recall the CLI refuses, with the code and the Russian reason, and writes nothing."""
    import asyncio

    async def make() -> tuple[str, int]:
        db = Database(env_db)
        try:
            account, _ = await debtor(db, recalled=False)
            async with db.session() as s:
                assignment = await s.scalar(select(CollectionAssignment.id))
            assert assignment is not None
            return account.number, assignment
        finally:
            await db.dispose()

    async def state() -> tuple[int, ...]:
        db = Database(env_db)
        try:
            async with db.session() as s:
                audit = await s.scalar(select(func.count()).select_from(AuditEvent)) or 0
            return (*await counts(db), audit)
        finally:
            await db.dispose()

    async def recall(assignment: int) -> None:
        db = Database(env_db)
        try:
            async with db.session(write=True) as s:
                await collections.recall(s, assignment, actor=STAFF, as_of=D(2026, 11, 17))
        finally:
            await db.dispose()

    number, assignment = asyncio.run(make())
    before = asyncio.run(state())
    out = tmp_path / "claim.pdf"
    args = ["court", "package", number, "--date", "2026-11-18", "--out", str(out)]
    refused = runner.invoke(app, args)
    said = " ".join(refused.output.split())
    assert refused.exit_code == 1, refused.output
    assert "court_agency_stage_active" in said
    assert f"Долг ещё у коллекторского агентства (передача № {assignment})" in said
    assert "Traceback" not in refused.output
    assert asyncio.run(state()) == before and not out.exists()

    asyncio.run(recall(assignment))
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert money(165_050) in " ".join(done.output.split()) and out.exists()
