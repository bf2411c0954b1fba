"""What escapes a CLI command, said in one line with an exit code, never as a traceback.

A database that is not ready (no schema yet, an older schema, unreachable) is the newcomer's
usual first failure: it is named with the command that fixes it. Anything else is a bug: one
line on stderr, one log event (the exception and where it rose, without local variables: they
may hold keys or passport numbers), exit 4.
"""

from __future__ import annotations

import asyncio
import socket
import traceback
from types import TracebackType

import structlog
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from abonent.db import migrate
from abonent.db.uow import Database
from abonent.kit.errors import AbonentError

log = structlog.get_logger(__name__)

EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130

# Undefined table / column (PostgreSQL); SQLite says it in words.
_MISSING_RELATION_SQLSTATES = {"42P01", "42703"}
_MISSING_RELATION_WORDS = ("no such table", "no such column", "has no column named")
# The database does not exist, or refused who we are.
_UNUSABLE_SQLSTATES = {"3D000", "28000", "28P01"}
_DRIVERS = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3")


class DatabaseNotReady(AbonentError):
    default_code = "schema_missing"
    title = "The database is not ready"


class InvalidSettings(AbonentError):
    default_code = "invalid_settings"
    title = "Invalid settings"


def shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable ABONENT_DATABASE_URL)"


def one_line(exc: BaseException) -> str:
    """The exception as one short line; for a database error only the driver's words (the
    statement and its parameters could carry personal data)."""
    if isinstance(exc, DBAPIError):
        return " ".join(str(exc.orig).split())[:300] or type(exc).__name__
    words = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {words[:300]}"


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)


def _from_driver(tb: TracebackType | None) -> bool:
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.split(".")[0] in _DRIVERS:
            return True
        tb = tb.tb_next
    return False


def _missing_relation(exc: DBAPIError) -> bool:
    if _sqlstate(exc) in _MISSING_RELATION_SQLSTATES:
        return True
    return any(words in str(exc.orig).lower() for words in _MISSING_RELATION_WORDS)


async def _revision(url: str) -> str | None:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return await migrate.current_revision(conn)
    finally:
        await db.dispose()


def _schema_problem(exc: DBAPIError, url: str) -> DatabaseNotReady | None:
    if not _missing_relation(exc):
        return None
    try:
        revision = asyncio.run(_revision(url))
    except Exception:
        revision = None
    head = migrate.head_revision()
    if revision == head:
        # The schema is current, so a missing table is a bug, not the newcomer's to fix.
        return None
    if revision is None:
        return DatabaseNotReady(
            f"the database {shown_url(url)} has no schema yet: run `abonent db upgrade` first"
        )
    return DatabaseNotReady(
        f"the database {shown_url(url)} is at schema revision {revision}, this version needs "
        f"{head}: run `abonent db upgrade`",
        code="schema_outdated",
    )


def diagnose(exc: BaseException, url: str | None) -> AbonentError | None:
    """The refusal a person can act on, when ``exc`` is one; None for a bug."""
    if isinstance(exc, AbonentError):
        return exc
    if isinstance(exc, ValidationError) and exc.title.endswith("Settings"):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        return InvalidSettings(f"{where}: {first['msg']}")
    if url is None:
        return None
    if isinstance(exc, DBAPIError):
        if _sqlstate(exc) in _UNUSABLE_SQLSTATES:
            return DatabaseNotReady(
                f"cannot use the database {shown_url(url)}: {one_line(exc)}",
                code="database_unavailable",
            )
        return _schema_problem(exc, url)
    if isinstance(exc, ConnectionError | socket.gaierror | TimeoutError) and _from_driver(
        exc.__traceback__
    ):
        return DatabaseNotReady(
            f"cannot reach the database {shown_url(url)}: {one_line(exc)}",
            code="database_unavailable",
        )
    return None


def log_unexpected(exc: BaseException) -> str:
    """Log the bug once, with where it rose but no locals; return the line to show."""
    frames = traceback.extract_tb(exc.__traceback__)
    at = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else "?"
    line = one_line(exc)
    log.error("cli.unexpected_error", error=line, at=at)
    return line


def main_url() -> str | None:
    # Imported late: settings may be what failed.
    from abonent.config import get_settings

    try:
        get_settings.cache_clear()
        return get_settings().database_url
    except Exception:
        return None
