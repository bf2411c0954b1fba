"""``abonent dunning ladder show|load`` and ``abonent dunning run`` against a real database."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.dunning import ladder
from abonent.dunning.service import show_ladder
from abonent.models import DunningLadder, DunningProgress, DunningStep
from tests.dunning.helpers import LADDER
from tests.factories import charge, make_account

runner = CliRunner()
DEFAULT = Path(ladder.__file__).with_name("default_ladder.toml")


def _counts(url: str) -> tuple[int, int, int]:
    async def go() -> tuple[int, int, int]:
        db = Database(url)
        try:
            async with db.session() as s:
                return tuple(  # type: ignore[return-value]
                    [
                        int(await s.scalar(select(func.count()).select_from(m)) or 0)
                        for m in (DunningLadder, DunningStep, DunningProgress)
                    ]
                )
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_migration_loads_the_shipped_default(db_url: str, backend: str) -> None:
    if backend != "sqlite":
        return  # the PostgreSQL fixture truncates every table before a test

    async def go() -> list[ladder.StepRow]:
        db = Database(db_url)
        try:
            async with db.session() as s:
                view = await show_ladder(s)
                assert view.ladder.id == 1
                return view.rows
        finally:
            await db.dispose()

    rows = asyncio.run(go())
    assert tuple(rows) == ladder.read(DEFAULT.read_text(), DEFAULT.name).rows


def test_load_show_and_run(env_db: str, tmp_path: Path) -> None:
    file = tmp_path / "ladder.toml"
    file.write_text(LADDER, encoding="utf-8")
    loaded = runner.invoke(app, ["dunning", "ladder", "load", str(file)])
    assert loaded.exit_code == 0, loaded.output
    found = re.search(r"ladder version (\d+) loaded: 8 step rows from ladder.toml", loaded.output)
    assert found, loaded.output
    version = int(found.group(1))
    shown = runner.invoke(app, ["dunning", "ladder", "show"])
    assert shown.exit_code == 0, shown.output
    assert f"ladder version {version} «test»" in shown.output
    assert "suspend          day +30   tv         suspend_service" in shown.output

    async def debt() -> None:
        db = Database(env_db)
        try:
            async with db.session(write=True) as s:
                account, services = await make_account(s)
                await charge(s, account, 30_000, due=dt.date(2026, 11, 10), service=services[0])
        finally:
            await db.dispose()

    asyncio.run(debt())
    ran = runner.invoke(app, ["dunning", "run", "--date", "2026-11-30"])
    assert ran.exit_code == 0, ran.output
    lines = [" ".join(line.split()) for line in ran.output.splitlines() if "[info" not in line]
    assert lines[0].startswith(f"dunning run 30.11.2026 (ladder version {version}): 4 steps done")
    assert lines[1:] == [
        "notice_1 superseded 1",
        "notice_2 notified 1",
        "remind superseded 1",
        "suspend suspended 1",
    ]
    again = runner.invoke(app, ["dunning", "run", "--date", "2026-11-30"])
    assert again.exit_code == 0 and "0 steps done" in again.output
    # A year on, with no agency: the hand-over waits, and the court and write-off with it.
    later = runner.invoke(app, ["dunning", "run", "--date", "2027-11-30"])
    assert later.exit_code == 0, later.output
    said = [" ".join(line.split()) for line in later.output.splitlines() if "[info" not in line]
    assert said[0].startswith("dunning run 30.11.2027") and " 0 steps done" in said[0]
    assert said[1:] == [
        "hand-over waiting for an agency: 1 items",
        "court/write-off waiting for the hand-over: 2 items",
    ]


def test_a_bad_file_is_refused_and_nothing_changes(env_db: str, tmp_path: Path) -> None:
    before = _counts(env_db)
    bad = tmp_path / "bad.toml"
    bad.write_text(LADDER.replace('action = "hand_over"', 'action = "call_mum"'), "utf-8")
    refused = runner.invoke(app, ["dunning", "ladder", "load", str(bad)])
    assert refused.exit_code == 1
    assert "[dunning_ladder_invalid]" in " ".join(refused.output.split())
    assert "step 5 (hand_over): action must be one of" in " ".join(refused.output.split())
    assert _counts(env_db) == before
    missing = runner.invoke(app, ["dunning", "ladder", "load", str(tmp_path / "none.toml")])
    assert missing.exit_code == 2
    assert _counts(env_db) == before
    no_version = runner.invoke(app, ["dunning", "ladder", "show", "--version", "99"])
    assert no_version.exit_code == 1 and "dunning_ladder_not_found" in no_version.output
    bad_date = runner.invoke(app, ["dunning", "run", "--date", "30.11.2026"])
    assert bad_date.exit_code == 2
    assert _counts(env_db) == before
