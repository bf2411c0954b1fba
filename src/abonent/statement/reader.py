"""The statement on the hot path: one query on a pooled connection, outside any transaction.

Every channel asks for the statement far more often than anything else happens, so this read
skips what a unit of work costs and a single SELECT does not need: the session, BEGIN and
COMMIT (one statement is its own consistent snapshot), and on PostgreSQL the SQL layer
itself: the query, compiled once by SQLAlchemy, goes straight to asyncpg on a connection
checked out of the engine's own pool (measured: a third of the CPU of the same query through
a Core connection). SQLite, in process and cheap, takes the ordinary Core path.

Rows (:data:`abonent.statement.repository.BY_NUMBER`) and rules (:mod:`abonent.statement.service`)
are the ordinary path's; only the transport differs.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from sqlalchemy.util.concurrency import greenlet_spawn

from abonent.accounts.service import parse_number
from abonent.statement.repository import BY_NUMBER
from abonent.statement.schemas import Statement
from abonent.statement.service import from_rows

_compiled: dict[int, str] = {}
_gates: weakref.WeakKeyDictionary[Engine, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _gate(engine: AsyncEngine) -> asyncio.Semaphore:
    """At most as many of these reads at once as the pool keeps connections.

    Beyond its size the pool opens "overflow" connections and closes them again on return: under
    a burst of statements that is a new PostgreSQL session (several round trips) per request
    (measured: 115 sessions opened in 11 s of load). Waiting here for a pooled connection is
    far cheaper, and PostgreSQL gains nothing from more queries at once than it has cores.
    """
    gate = _gates.get(engine.sync_engine)
    if gate is None:
        pool = engine.sync_engine.pool
        size = pool.size() if isinstance(pool, QueuePool) else 10
        gate = _gates[engine.sync_engine] = asyncio.Semaphore(max(size, 1))
    return gate


gate = _gate
"""The same gate for every hot-path read on the pool (``subscribers/reader.py`` too): two gates
of the pool's size each would let twice as many checkouts through, into overflow connections."""


def _asyncpg_sql(dialect: Dialect) -> str:
    sql = _compiled.get(id(dialect))
    if sql is None:
        compiled = BY_NUMBER.compile(dialect=dialect)
        # The account number must be the one and only parameter ($1).
        if list(compiled.positiontup or ()) != ["number"]:
            raise AssertionError(f"unexpected parameters {compiled.positiontup}")
        sql = _compiled[id(dialect)] = str(compiled)
    return sql


async def read_statement(engine: AsyncEngine, raw_number: str) -> Statement:
    """The statement of a number typed by anyone (``InvalidInput`` / ``AccountNotFound``)."""
    number = parse_number(raw_number)
    if engine.dialect.driver != "asyncpg":
        async with engine.connect() as connection:
            result = await connection.execute(BY_NUMBER, {"number": number})
            return from_rows(number, result.all())
    sql = _asyncpg_sql(engine.dialect)
    async with _gate(engine):
        pooled = await greenlet_spawn(engine.sync_engine.raw_connection)
        try:
            driver: Any = pooled.driver_connection
            rows = await driver.fetch(sql, number)
        except BaseException:
            # The connection may be in any state: never hand it to the next request.
            await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            await greenlet_spawn(pooled.close)
    return from_rows(number, rows)
