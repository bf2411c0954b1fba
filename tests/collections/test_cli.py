"""``abonent agency`` and ``abonent collections`` against a real database."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.kit.money import format_money
from abonent.models import CollectionAgency, CollectionAssignment
from tests.factories import charge, make_account

runner = CliRunner()


def said(text: str) -> str:
    return " ".join(text.split())


def _debtor(url: str) -> str:
    async def go() -> str:
        db = Database(url)
        try:
            async with db.session(write=True) as s:
                account, _ = await make_account(s)
                await charge(s, account, 30_000, due=dt.date(2026, 10, 10))
                await charge(s, account, 20_000, due=dt.date(2026, 11, 10))
                return account.number
        finally:
            await db.dispose()

    return asyncio.run(go())


def _count(url: str, model: type) -> int:
    async def go() -> int:
        db = Database(url)
        try:
            async with db.session() as s:
                return int(await s.scalar(select(func.count()).select_from(model)) or 0)
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_agency_add_list_show_and_a_bad_inn(env_db: str) -> None:
    bad = runner.invoke(app, ["agency", "add", "ООО «Возврат»", "--inn", "7707083894"])
    assert bad.exit_code == 1
    assert _count(env_db, CollectionAgency) == 0
    ok = runner.invoke(
        app,
        ["agency", "add", "ООО «Возврат»", "--inn", "7707083893", "--commission-bp", "1250"],
    )
    assert ok.exit_code == 0, ok.output
    assert said(ok.output) == (
        "agency added: 1: ООО «Возврат», ИНН 7707083893; export csv; commission 12,50 %; "
        "no contacts"
    )
    listed = runner.invoke(app, ["agency", "list"])
    assert said(listed.output) == said(ok.output).removeprefix("agency added: ")
    assert runner.invoke(app, ["agency", "show", "2"]).exit_code == 1


def test_handover_twice_then_recall(env_db: str) -> None:
    number = _debtor(env_db)
    runner.invoke(app, ["agency", "add", "ООО «Возврат»", "--inn", "7707083893"])
    first = runner.invoke(app, ["collections", "handover", number, "--agency", "1"])
    assert first.exit_code == 0, first.output
    assert said(first.output).startswith("assignment 1: handed over, 500,00 ₽ in 2 items;")
    again = runner.invoke(app, ["collections", "handover", number, "--agency", "1"])
    assert said(again.output).startswith("assignment 1: already with the agency, 500,00 ₽")
    assert _count(env_db, CollectionAssignment) == 1
    recalled = runner.invoke(app, ["collections", "recall", "1"])
    assert recalled.exit_code == 0, recalled.output
    assert said(recalled.output).startswith("assignment 1 recalled on ")


def test_the_agencys_portfolio_file_is_written_once_a_day(env_db: str, tmp_path: Path) -> None:
    number = _debtor(env_db)
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    runner.invoke(app, ["agency", "add", "ООО «Возврат»", "--inn", "7707083893"])
    runner.invoke(app, ["collections", "handover", number, "--agency", "1"])
    missing = runner.invoke(app, ["agency", "export", "1", "--out-dir", str(tmp_path / "no")])
    assert missing.exit_code == 2 and not list(tmp_path.iterdir())
    assert runner.invoke(app, ["agency", "export", "7", "--out-dir", str(tmp_path)]).exit_code == 1
    assert not list(tmp_path.iterdir())
    done = runner.invoke(app, ["agency", "export", "1", "--out-dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    [written] = list(tmp_path.iterdir())
    flat = done.output.replace("\n", "")  # the console wraps long paths
    assert flat.strip() == (
        f"{written}: 1 assignments, 2 items, {format_money(50_000)} at hand-over"
    )
    lines = written.read_bytes().decode("utf-8-sig").split("\r\n")
    assert [line.split(";")[2] for line in lines[1:3]] == [number, number]
    before = written.read_bytes()
    again = runner.invoke(app, ["agency", "export", "1", "--out-dir", str(tmp_path)])
    assert again.exit_code == 2 and "exists" in said(again.output)
    assert written.read_bytes() == before
