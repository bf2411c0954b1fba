"""The test harness: a real database per test, built by the migrations.

Every test that asks for ``db`` (or ``db_url``) runs once on SQLite and, when
``ABONENT_TEST_POSTGRES_URL`` is set, once more on PostgreSQL. SQLite: a copy of a template file
migrated once per run. PostgreSQL: a database created and migrated once per run, every table
truncated before each test. Nothing is mocked: the app commits for real, so concurrency tests
see what production would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from abonent.db import migrate
from abonent.db.uow import Database
from abonent.kit import logs
from abonent.kit.clock import FrozenClock, use_clock
from tests import factories

os.environ.setdefault("ABONENT_ENV", "development")
PG_URL = os.environ.get("ABONENT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if PG_URL else ["sqlite"]

# A fixed "now" for tests that care about dates: a Wednesday, mid-month, Moscow afternoon.
NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)


# --- the session-wide log capture ---------------------------------------------------------------
# Everything logged during the run (structlog and stdlib, rendered as in production) is teed to
# a file; at the end it is searched for every secret the tests used, and any hit fails the run.

_capture: dict[str, Any] = {}


def _tap(module: Any, name: str, secrets_of: Callable[[dict[str, Any], Any], list[Any]]) -> None:
    original = getattr(module, name)

    @functools.wraps(original)
    async def tapped(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        for value in secrets_of(kwargs, result):
            factories.remember_secret(value)
        return result

    setattr(module, name, tapped)


def _passports(kwargs: dict[str, Any], _result: Any) -> list[Any]:
    raw = kwargs.get("passport")
    return [raw, re.sub(r"\D", "", raw)] if isinstance(raw, str) else []


@pytest.fixture(scope="session", autouse=True)
def _log_capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from abonent.accounts import service as accounts
    from abonent.apikeys import service as apikeys
    from abonent.payments.agents import service as agents

    _tap(apikeys, "create", lambda _kw, result: [result[1]])
    _tap(agents, "create_agent", lambda kw, _result: [kw.get("password")])
    _tap(agents, "set_password", lambda kw, _result: [kw.get("password")])
    _tap(accounts, "create_customer", _passports)
    path = tmp_path_factory.mktemp("logs") / "session.log"
    logs.configure(json=True, level="INFO")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logs.formatter(json=True))
    logging.getLogger().addHandler(handler)
    _capture["path"] = path
    yield
    logging.getLogger().removeHandler(handler)
    handler.close()


def _leaks() -> tuple[int, int, list[str]]:
    path: Path | None = _capture.get("path")
    if path is None or not path.exists():
        return 0, len(factories.SECRETS), []
    text = path.read_text(encoding="utf-8", errors="replace")
    found = []
    for secret in sorted(factories.SECRETS):
        if secret.isdigit():
            # A number standing on its own: not the fraction of a timestamp's seconds
            # (".490638"), not a run of digits inside a hex request id. Six-digit codes met
            # those by chance in ~1 run of 2 once the log held ~10k microsecond timestamps.
            if re.search(rf"(?<![0-9A-Za-z.]){secret}(?![0-9A-Za-z])", text):
                found.append(secret)
        elif secret in text:
            found.append(secret)
    return text.count("\n"), len(factories.SECRETS), found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    lines, checked, found = _leaks()
    _capture["result"] = (lines, checked, found)
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "result" not in _capture:
        return
    lines, checked, found = _capture["result"]
    terminalreporter.write_line(
        f"log capture: {lines} lines logged, {checked} test secrets searched, {len(found)} found"
    )
    for secret in found:
        terminalreporter.write_line(f"SECRET IN LOGS: {secret[:4]}… (length {len(secret)})")


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _pg(url: str, *sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        for statement in sql:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "abonent.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[tuple[str, list[str]]]:
    if not PG_URL:
        pytest.skip("ABONENT_TEST_POSTGRES_URL is not set")
    name = f"abonent_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg(PG_URL, f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)

    async def _tables() -> list[str]:
        conn = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            rows = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname='public' "
                "AND tablename <> 'alembic_version'"
            )
            return [r["tablename"] for r in rows]
        finally:
            await conn.close()

    tables = asyncio.run(_tables())
    yield url, tables
    asyncio.run(_pg(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run database tests once per backend; PostgreSQL-only tests only there."""
    if "backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("postgres_only"):
        metafunc.parametrize("backend", ["postgres"])
    else:
        metafunc.parametrize("backend", BACKENDS)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database for this test, as a plain URL (for CLI tests)."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "abonent.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url, tables = request.getfixturevalue("postgres_database")
    asyncio.run(_pg(url, "TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def env_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point ``ABONENT_DATABASE_URL`` at the test database (for CLI commands)."""
    monkeypatch.setenv("ABONENT_DATABASE_URL", db_url)
    from abonent.config import get_settings

    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with use_clock(FrozenClock(NOW)) as frozen:
        yield frozen  # type: ignore[misc]


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    from abonent.app import create_app

    app = create_app(db)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
