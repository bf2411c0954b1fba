"""Whatever escapes a command is one line and an exit code: a database without its schema names
`abonent db upgrade` (exit 1); a bug says `error [internal]` (exit 4), logged once, no locals."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from abonent.cli import accounts as accounts_cli
from abonent.cli.main import app
from abonent.db import migrate
from abonent.kit.numbers import luhn_check_digit
from tests.conftest import PG_URL, _pg

runner = CliRunner()
NUMBER = "12345678901" + luhn_check_digit("12345678901")
SRC = Path(__file__).resolve().parents[2] / "src"

# Commands a newcomer tries first; each reads or writes the schema at once.
FIRST_COMMANDS = [
    ["account", "show", NUMBER],
    ["ledger", "reconcile"],
    ["apikey", "list"],
    ["worker", "run", "--once"],
    ["demo", "load", "--customers", "10"],
]


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database that exists and holds nothing: an empty SQLite file, a new PG database."""
    if backend == "sqlite":
        path = tmp_path / "empty.db"
        path.touch()
        yield f"sqlite:///{path}"
        return
    assert PG_URL is not None
    name = f"abonent_empty_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg(PG_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pointed_at(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABONENT_DATABASE_URL", url)
    monkeypatch.setenv("ABONENT_SMS__GATEWAY", "memory")


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert "Traceback" not in output
    errors = [line for line in lines if line.startswith("error ")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.mark.parametrize("args", FIRST_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_database_without_the_schema_names_db_upgrade(
    empty_url: str, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pointed_at(empty_url, monkeypatch)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    line = one_error_line(result.output)
    assert line.startswith("error [schema_missing]: the database ")
    assert line.endswith("has no schema yet: run `abonent db upgrade` first")

    # And the command it names is the fix.
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["apikey", "list"]).exit_code == 0


def test_an_older_schema_names_its_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0002")
    pointed_at(url, monkeypatch)
    # The relay needs the outbox's claim column, which came after 0002.
    result = runner.invoke(app, ["worker", "run", "--once"])
    assert result.exit_code == 1, result.output
    line = one_error_line(result.output)
    assert line.startswith("error [schema_outdated]: ")
    assert f"is at schema revision 0002, this version needs {migrate.head_revision()}" in line
    assert line.endswith("run `abonent db upgrade`")


def test_a_password_in_the_url_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on port 1: the connection is refused at once.
    pointed_at("postgresql://abonent:s3cret-pw@127.0.0.1:1/abonent", monkeypatch)
    result = runner.invoke(app, ["apikey", "list"])
    assert result.exit_code == 1, result.output
    line = one_error_line(result.output)
    assert line.startswith(
        "error [database_unavailable]: cannot reach the database "
        "postgresql://abonent:***@127.0.0.1:1/abonent: "
    )
    assert "s3cret-pw" not in result.output


def test_a_bug_is_one_line_exit_4_and_one_log_event_without_locals(
    env_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(_session: object, number: str) -> None:
        passport = "4510 123456"  # a local a traceback with locals would print
        raise RuntimeError(f"statement failed for {number[:2]}… ({len(passport)})")

    monkeypatch.setattr(accounts_cli, "statement_by_number", broken)
    # The command configures logging itself (kit/logs.py), so the events are read where that
    # chain hands them to the standard library, not from structlog's capture.
    with caplog.at_level(logging.DEBUG):
        result = runner.invoke(app, ["account", "show", NUMBER])
    assert result.exit_code == 4, result.output
    line = one_error_line(result.output)
    assert line == "error [internal]: RuntimeError: statement failed for 12… (11)"
    assert "4510" not in result.output
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    unexpected = [e for e in events if e.get("event") == "cli.unexpected_error"]
    assert len(unexpected) == 1
    event = unexpected[0]
    assert event["error"] == "RuntimeError: statement failed for 12… (11)"
    assert event["at"].endswith("in broken")
    assert set(event) <= {"event", "error", "at", "logger", "level", "timestamp", "log_level"}
    assert not any("4510" in r.getMessage() for r in caplog.records)


def structlog_events(caplog: pytest.LogCaptureFixture) -> list[str]:
    # The command configures logging itself (kit/logs.py), so structlog's events are read where
    # that chain hands them to the standard library, not from structlog's own capture.
    return [r.msg["event"] for r in caplog.records if isinstance(r.msg, dict) and "event" in r.msg]


def test_a_missing_table_under_a_current_schema_is_a_bug_not_an_upgrade(
    env_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def reads_a_table_that_never_was(session, number: str) -> None:  # type: ignore[no-untyped-def]
        await session.execute(text("SELECT 1 FROM no_such_table"))

    monkeypatch.setattr(accounts_cli, "statement_by_number", reads_a_table_that_never_was)
    with caplog.at_level(logging.DEBUG):
        result = runner.invoke(app, ["account", "show", NUMBER])
    assert result.exit_code == 4, result.output
    line = one_error_line(result.output)
    assert line.startswith("error [internal]: ")
    assert "no_such_table" in line and "db upgrade" not in line
    assert structlog_events(caplog) == ["cli.unexpected_error"]


def test_outside_any_database_call_the_entrypoint_still_says_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    def broken_upgrade(url: str, revision: str = "head") -> None:
        raise RuntimeError("alembic fell over")

    monkeypatch.setenv("ABONENT_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setattr(migrate, "upgrade", broken_upgrade)
    with caplog.at_level(logging.DEBUG), pytest.raises(SystemExit) as exited:
        app(["db", "upgrade"], prog_name="abonent")
    assert exited.value.code == 4
    err = capsys.readouterr().err
    assert one_error_line(err) == "error [internal]: RuntimeError: alembic fell over"
    assert structlog_events(caplog) == ["cli.unexpected_error"]


def test_settings_that_do_not_validate_are_one_line_in_a_real_process(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "ABONENT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "ABONENT_WORKER__LEASE_SECONDS": "5",
    }
    done = subprocess.run(
        [sys.executable, "-m", "abonent.cli.main", "worker", "run", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert one_error_line(done.stderr) == (
        "error [invalid_settings]: worker: Value error, "
        "worker.lease_seconds must exceed worker.send_timeout_seconds"
    )


def test_serve_shows_the_database_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from abonent.cli import serve as serve_cli
    from abonent.config import get_settings

    started: list[str] = []
    monkeypatch.setattr(serve_cli.uvicorn, "run", lambda target, **_: started.append(target))
    monkeypatch.setenv("ABONENT_DATABASE_URL", "postgresql://abonent:s3cr3t-pw@db.example:5432/ab")
    try:
        result = CliRunner().invoke(app, ["serve", "--port", "8123"])
    finally:
        get_settings.cache_clear()  # the CLI cached settings read from the patched environment
    assert result.exit_code == 0, result.output
    assert started == ["abonent.app:create_app"]
    assert "s3cr3t-pw" not in result.output
    assert "postgresql://abonent:***@db.example:5432/ab" in result.output
