"""`abonent registry …` end to end: exit codes, the terminal report, the CSV report, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.ledger.reconcile import reconcile
from abonent.models import Payment
from tests.factories import make_account
from tests.payments.registry.helpers import (
    agent_paid,
    make_agent,
    msk,
    osmp_date,
    registry,
    snapshot,
    unknown_number,
)

T = TypeVar("T")
runner = CliRunner()


def in_db(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        db = Database(url)
        try:
            async with db.session(write=True) as s:
                return await work(s)
        finally:
            await db.dispose()

    return asyncio.run(go())


def counts(url: str) -> dict[str, int]:
    async def go() -> dict[str, int]:
        db = Database(url)
        try:
            return await snapshot(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def payments(url: str) -> list[tuple[str, str, int, str]]:
    async def work(s: AsyncSession) -> list[tuple[str, str, int, str]]:
        rows = await s.execute(
            select(Payment.source, Payment.source_txn_id, Payment.amount_minor, Payment.method)
            .order_by(Payment.id)
        )  # fmt: skip
        return [(a, b, c, d) for a, b, c, d in rows]

    return in_db(url, work)


def setup(url: str) -> dict[str, object]:
    """SBER booked P1 (matched), P2 (registry says another sum), P3 (not in the registry)."""

    async def work(s: AsyncSession) -> dict[str, object]:
        agent = await make_agent(s, "SBER")
        a, _ = await make_account(s)
        b, _ = await make_account(s)
        p1 = await agent_paid(s, agent, a, 50_000, "P1", msk(17, 9))
        p2 = await agent_paid(s, agent, b, 30_000, "P2", msk(17, 10))
        p3 = await agent_paid(s, agent, a, 12_345, "P3", msk(17, 11))
        return {"a": a.number, "b": b.number, "p1": p1.id, "p2": p2.id, "p3": p3.id}

    return in_db(url, work)


def write(tmp_path: Path, data: bytes, name: str = "sber.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_differences_exit_3_with_an_exact_csv_report(env_db: str, clock, tmp_path: Path) -> None:
    w = setup(env_db)
    file = write(
        tmp_path,
        registry(
            f"P1;{w['a']};500,00;{osmp_date(msk(17, 9))}",
            f"P2;{w['b']};300,01;{osmp_date(msk(17, 10))}",
            f"N1;{w['b']};99,99;{osmp_date(msk(17, 12, 30))}",
            f"N2;{unknown_number()};10,00;{osmp_date(msk(17, 13))}",
        ),
    )
    out = tmp_path / "report.csv"
    result = runner.invoke(app, ["registry", "import", "SBER", str(file), "--report", str(out)])
    assert result.exit_code == 3, result.output
    assert "registry #1 · agent SBER · sber.csv" in result.stdout
    assert "dry run: nothing booked" in result.stdout
    assert "4 difference(s) need attention" in result.stdout
    assert out.read_text(encoding="utf-8") == (
        "line,txn_id,txn_date,outcome,account,agent_sum,our_account,our_sum,payment_id,note\n"
        f"2,P1,2026-11-17 09:00:00,matched,{w['a']},500.00,{w['a']},500.00,{w['p1']},\n"
        f"3,P2,2026-11-17 10:00:00,amount_mismatch,{w['b']},300.01,{w['b']},300.00,{w['p2']},"
        '"differs by 0,01 ₽"\n'
        f"4,N1,2026-11-17 12:30:00,missing_here,{w['b']},99.99,,,,\n"
        f"5,N2,2026-11-17 13:00:00,missing_here,{unknown_number()},10.00,,,,"
        f"cannot be booked: no account {unknown_number()}\n"
        f",P3,2026-11-17 11:00:00,unknown_to_agent,,,{w['a']},123.45,{w['p3']},\n"
    )
    assert [p[1] for p in payments(env_db)] == ["P1", "P2", "P3"]

    # The stored import prints and exports the same thing later.
    again = tmp_path / "again.csv"
    shown = runner.invoke(app, ["registry", "show", "1", "--report", str(again)])
    assert shown.exit_code == 0, shown.output
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
    assert "4 difference(s) need attention" in shown.stdout

    listed = runner.invoke(app, ["registry", "list", "--agent", "SBER"])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[-2].split() == [
        "1", "18.11", "15:00", "SBER", "2026-11-17", "4", "dry", "run", "4", "sber.csv",
    ]  # fmt: skip


def test_book_missing_books_once_and_a_rerun_is_all_matched(
    env_db: str, clock, tmp_path: Path
) -> None:
    w = setup(env_db)
    file = write(
        tmp_path,
        registry(
            f"P1;{w['a']};500,00;{osmp_date(msk(17, 9))}",
            f"P2;{w['b']};300,00;{osmp_date(msk(17, 10))}",
            f"P3;{w['a']};123,45;{osmp_date(msk(17, 11))}",
            f"N1;{w['b']};99,99;{osmp_date(msk(17, 12, 30))}",
        ),
    )
    first = runner.invoke(app, ["registry", "import", "SBER", str(file), "--book-missing"])
    # Everything is accounted for once the missing line is booked.
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == "all 4 lines matched (1 booked now from the registry)"
    second = runner.invoke(app, ["registry", "import", "SBER", str(file), "--book-missing"])
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[-1] == "all 4 lines matched"
    assert "this file was imported before for this agent: #1" in second.stdout
    assert payments(env_db) == [
        ("osmp:SBER", "P1", 50_000, "agent"),
        ("osmp:SBER", "P2", 30_000, "agent"),
        ("osmp:SBER", "P3", 12_345, "agent"),
        ("osmp:SBER", "N1", 9_999, "registry"),
    ]
    assert in_db(env_db, reconcile).clean


def test_cp1251_bank_file_with_its_own_columns_and_dates(
    env_db: str, clock, tmp_path: Path
) -> None:
    w = setup(env_db)
    text = (
        "Дата;Номер;Плательщик;Лицевой счёт;Сумма\r\n"
        f"17.11.2026 09:00;P1;Иванов И.И.;{w['a']};500,00\r\n"
        f"17.11.2026 10:00;P2;Петров П.П.;{w['b']};300,00\r\n"
        f"17.11.2026 11:00;P3;Иванов И.И.;{w['a']};123,45\r\n"
    )
    file = write(tmp_path, text.encode("cp1251"))
    args = ["registry", "import", "SBER", str(file), "--encoding", "cp1251"]
    args += ["--delimiter", ";", "--columns", "txn_date,txn_id,-,account,sum"]
    args += ["--date-format", "%d.%m.%Y %H:%M"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "all 3 lines matched" in result.stdout
    # Read as UTF-8, the same file is refused, nothing stored.
    before = counts(env_db)
    wrong = runner.invoke(app, ["registry", "import", "SBER", str(file)])
    assert wrong.exit_code == 1
    assert "try --encoding cp1251" in wrong.stderr
    assert counts(env_db) == before


def test_bad_lines_refuse_the_file_naming_each_and_change_nothing(
    env_db: str, clock, tmp_path: Path
) -> None:
    w = setup(env_db)
    file = write(
        tmp_path,
        registry(
            f"N1;{w['b']};99,999;{osmp_date(msk(17, 12))}",
            f"N2;{w['b']};99,99;{osmp_date(msk(17, 12))}",
            f"N3;{w['b']};99,99;2026-02-30 10:00:00",
            "N4;[/bold];1,00",
        ),
    )
    out = tmp_path / "report.csv"
    before = counts(env_db)
    result = runner.invoke(
        app, ["registry", "import", "SBER", str(file), "--book-missing", "--report", str(out)]
    )
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert "registry refused, nothing imported: 3 bad line(s)" in lines[0]
    assert lines[1:] == [
        "  line 2: sum: at most two decimals allowed: '99,999'",
        "  line 4: txn_date '2026-02-30 10:00:00' is not a date like 20261117153000 or "
        "17.11.2026 15:30:00",
        "  line 5: expected 4 fields, found 3",
    ]
    assert counts(env_db) == before
    assert not out.exists()


def test_unknown_agent_and_unreadable_file_are_refused(env_db: str, clock, tmp_path: Path) -> None:
    w = setup(env_db)
    file = write(tmp_path, registry(f"N1;{w['b']};99,99;{osmp_date(msk(17, 12))}"))
    before = counts(env_db)
    unknown = runner.invoke(app, ["registry", "import", "NOPE", str(file), "--book-missing"])
    assert unknown.exit_code == 1
    assert "[agent_not_found]: no agent NOPE" in unknown.stderr
    missing = runner.invoke(app, ["registry", "import", "SBER", str(tmp_path / "absent.csv")])
    assert missing.exit_code == 1
    assert "cannot read" in missing.stderr
    bad_date = runner.invoke(app, ["registry", "import", "SBER", str(file), "--date", "17.11"])
    assert bad_date.exit_code == 1
    no_dir = runner.invoke(
        app, ["registry", "import", "SBER", str(file), "--report", str(tmp_path / "no" / "r.csv")]
    )
    assert no_dir.exit_code == 1
    bad_cols = runner.invoke(
        app, ["registry", "import", "SBER", str(file), "--columns", "txn_id,account,amount"]
    )
    assert bad_cols.exit_code == 1
    assert "unknown column 'amount'" in bad_cols.stderr
    assert counts(env_db) == before


def test_show_an_unknown_import(env_db: str) -> None:
    result = runner.invoke(app, ["registry", "show", "7"])
    assert result.exit_code == 1
    assert "no registry import 7" in result.stderr


def test_a_registry_for_a_given_day_without_dates(env_db: str, clock, tmp_path: Path) -> None:
    w = setup(env_db)
    file = write(tmp_path, f"P1;{w['a']};500\nP2;{w['b']};300\n".encode(), "nodates.csv")
    args = ["registry", "import", "SBER", str(file), "--no-header", "--columns"]
    args += ["txn_id,account,sum", "--date", "2026-11-17", "--all"]
    result = runner.invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "2026-11-17" in result.stdout and "All lines" in result.stdout
    assert "1 difference(s) need attention" in result.stdout
    out = tmp_path / "r.csv"
    assert runner.invoke(app, ["registry", "show", "1", "--report", str(out)]).exit_code == 0
    assert [row.split(",")[:4] for row in out.read_text().splitlines()[1:]] == [
        ["1", "P1", "", "matched"],
        ["2", "P2", "", "matched"],
        ["", "P3", "2026-11-17 11:00:00", "unknown_to_agent"],
    ]
    without_date = runner.invoke(app, args[:-3])
    assert without_date.exit_code == 1
    assert "give --date" in without_date.stderr


def test_a_total_line_is_checked_and_a_wrong_one_changes_nothing(
    env_db: str, clock, tmp_path: Path
) -> None:
    w = setup(env_db)
    rows = (
        f"P1;{w['a']};500,00;{osmp_date(msk(17, 9))}",
        f"P2;{w['b']};300,00;{osmp_date(msk(17, 10))}",
        f"P3;{w['a']};123,45;{osmp_date(msk(17, 11))}",
    )
    wrong = write(tmp_path, registry(*rows, "ИТОГО;3;923,46"), "wrong.csv")
    before = counts(env_db)
    refused = runner.invoke(
        app, ["registry", "import", "SBER", str(wrong), "--trailer", "ИТОГО", "--book-missing"]
    )
    assert refused.exit_code == 1, refused.output
    assert refused.stderr.splitlines()[1:] == [
        "  line 5: total line: total 923.46 but the lines add up to 923.45"
    ]
    assert counts(env_db) == before

    bad_option = runner.invoke(
        app,
        ["registry", "import", "SBER", str(wrong), "--trailer", "ИТОГО", "--trailer-columns", "x"],
    )
    assert bad_option.exit_code == 1 and "unknown trailer column 'x'" in bad_option.stderr
    assert counts(env_db) == before

    right = write(tmp_path, registry(*rows, "ИТОГО;3;923,45"), "right.csv")
    result = runner.invoke(app, ["registry", "import", "SBER", str(right), "--trailer", "ИТОГО"])
    assert result.exit_code == 0, result.output
    assert "· 3 lines ·" in result.stdout  # the total line is not a payment
    assert result.stdout.splitlines()[-1] == "all 3 lines matched"
