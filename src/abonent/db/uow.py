"""Units of work: one transaction per request, command, job or USSD step.

Services flush, never commit; the boundary that opened the unit commits or rolls back. Money
operations run through :meth:`Database.run`, which retries the whole unit when the database
reports a serialization failure, a deadlock, a busy SQLite lock or a lost insert race.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.util import greenlet_spawn

from abonent.db.engine import WRITE_OPTION, create_engine, is_sqlite

T = TypeVar("T")
log = structlog.get_logger(__name__)

_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_transient(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    if _sqlstate(exc) in _TRANSIENT_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig).lower()


def is_unique_violation(exc: BaseException) -> bool:
    if not isinstance(exc, IntegrityError):
        return False
    return _sqlstate(exc) == "23505" or "unique constraint failed" in str(exc.orig).lower()


class Database:
    def __init__(self, url: str, engine: AsyncEngine | None = None) -> None:
        self.url = url
        self.engine = engine or create_engine(url)
        self.is_sqlite = is_sqlite(url)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work that commits on success and rolls back on any exception."""
        async with self.sessionmaker() as session:
            # Only SQLite's BEGIN reads the option (BEGIN IMMEDIATE); on PostgreSQL it would
            # just cost a connection set-up of its own on every unit.
            if write and self.is_sqlite:
                await session.connection(execution_options={WRITE_OPTION: True})
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def statement_connection(self) -> AsyncIterator[Any]:
        """A pooled PostgreSQL connection as its driver's (asyncpg) object, no transaction open:
        each statement run on it is a unit of work of its own, committed by the server as the
        statement ends. For a unit that is one statement (a payment booked by one function
        call): one round trip, where a session's unit costs a BEGIN and a COMMIT besides.

        The pool's own connection, not an ``AsyncConnection``: measured, checking one out and
        back in cost ~200 µs of CPU through ``engine.connect()`` and ~60 µs this way. A
        connection that saw any failure is discarded rather than returned to the pool: its
        state (a statement cancelled half-way, a broken socket) is not known.
        """
        if self.is_sqlite:
            raise RuntimeError("statement connections are PostgreSQL's")
        raw = await self.engine.raw_connection()
        try:
            yield raw.driver_connection
        except BaseException as exc:
            await greenlet_spawn(raw.invalidate)
            state = str(getattr(exc, "sqlstate", "") or "")
            if state and isinstance(exc, Exception):
                # The driver's own error, given the shape the rest of the system knows (the
                # CLI's "run db upgrade" on a missing table, the unit's retry on a conflict).
                kind = IntegrityError if state.startswith("23") else DBAPIError
                raise kind("statement connection", None, exc) from exc
            raise
        finally:
            # The pool's check-in may close a connection (one over the pool's size, one
            # invalidated), which awaits the driver: it runs where SQLAlchemy can await.
            await greenlet_spawn(raw.close)

    async def run(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        write: bool = True,
        attempts: int = 8,
    ) -> T:
        """Run ``work`` in its own unit of work, retrying the whole unit on transient conflicts.

        A unique violation is retried too: two connections racing to insert the same idempotent
        row (the same agent txn_id) both pass the existence check; on retry the loser finds the
        winner's row and answers as a duplicate.
        """
        for attempt in range(1, attempts + 1):
            try:
                async with self.session(write=write) as session:
                    return await work(session)
            except (DBAPIError, IntegrityError) as exc:
                retry = is_transient(exc) or (is_unique_violation(exc) and attempt < 3)
                if not retry or attempt == attempts:
                    raise
                log.info("uow.retry", attempt=attempt, reason=str(exc.orig)[:200])
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    async def dispose(self) -> None:
        await self.engine.dispose()
