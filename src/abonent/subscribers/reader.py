"""The subscriber's token and account check on the hot path: one query, no transaction.

``GET /v1/me/accounts/{number}/…`` checks the token and that the account is the caller's on
every request. The ordinary path (``service.authenticate_for_account``) is a unit of work: BEGIN,
the query, COMMIT, three round trips. A read needs none of that when nothing is to be written,
so this runs :data:`repository.LIVE_WITH_ACCOUNT` as one statement on a pooled connection (on
PostgreSQL straight on asyncpg, as ``statement/reader.py`` does for the statement) and applies
the same rules (``service.needs_write``). When ``last_seen_at`` is due (at most once a minute)
it says so and the caller records it with one UPDATE in a unit of work; a timed-out web session
answers None and the caller takes the ordinary path, which revokes it.
Nothing is cached across requests.

``own_statement`` goes one step further for ``GET /v1/me/accounts/{number}/statement``: the
token check, the owner check and the statement itself in one query
(:data:`repository.OWN_STATEMENT`), one pooled connection and one round trip instead of two.
The rows of a statement are read only after the token's rules passed; a refused token or
another customer's account answers exactly as through ``own_account``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import greenlet_spawn

from abonent.accounts.errors import AccountNotFound
from abonent.kit import clock
from abonent.statement.reader import gate, read_statement
from abonent.statement.schemas import Statement
from abonent.statement.service import from_rows
from abonent.subscribers.errors import NotAuthenticated
from abonent.subscribers.repository import LIVE_WITH_ACCOUNT, OWN_STATEMENT, SESSION_COLUMNS
from abonent.subscribers.service import (
    NO_SUCH_ACCOUNT,
    OwnAccount,
    Principal,
    Seen,
    needs_write,
    seen_now,
    timed_out,
    token_hash,
)

_compiled: dict[tuple[int, int], str] = {}


def _asyncpg_sql(query: Any, dialect: Dialect) -> str:
    key = (id(query), id(dialect))
    sql = _compiled.get(key)
    if sql is None:
        compiled = query.compile(dialect=dialect)
        if list(compiled.positiontup or ()) != ["number", "digest"]:
            raise AssertionError(f"unexpected parameters {compiled.positiontup}")
        sql = _compiled[key] = str(compiled)
    return sql


async def _fetch(engine: AsyncEngine, query: Any, digest: str, number: str) -> list[Any]:
    """The rows of ``query`` ($1 the number, $2 the digest) on a pooled asyncpg connection."""
    sql = _asyncpg_sql(query, engine.dialect)
    async with gate(engine):
        pooled = await greenlet_spawn(engine.sync_engine.raw_connection)
        try:
            driver: Any = pooled.driver_connection
            rows: list[Any] = await driver.fetch(sql, number, digest)
        except BaseException:
            await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            await greenlet_spawn(pooled.close)
    return rows


async def _row(engine: AsyncEngine, digest: str, number: str) -> Sequence[Any] | None:
    if engine.dialect.driver != "asyncpg":
        async with engine.connect() as connection:
            params = {"digest": digest, "number": number}
            return (await connection.execute(LIVE_WITH_ACCOUNT, params)).first()
    rows = await _fetch(engine, LIVE_WITH_ACCOUNT, digest, number)
    return rows[0] if rows else None


@dataclass(frozen=True, slots=True)
class Checked:
    own: OwnAccount
    seen: Seen | None
    """A use to record (``service.record_seen``, in a unit of work), at most once a minute."""


async def own_account(engine: AsyncEngine, access_token: str, number: str) -> Checked | None:
    """The caller and their account ``number``, and whether the use must be recorded; None
    when the ordinary path must run (a web session timed out: it is revoked there). Refusals as
    ``service.authenticate_for_account``: ``NotAuthenticated``, then ``AccountNotFound`` with the
    one detail every refused number gets."""
    row = await _row(engine, token_hash(access_token or ""), (number or "").strip())
    if row is None:
        raise NotAuthenticated("not logged in")
    return _checked(row[:8], row[8], row[9], row[10])


def _checked(
    session: Sequence[Any], aid: int | None, anum: str | None, cur: str | None
) -> Checked | None:
    """The token's rules on its session's columns, then the owner check (``own_account``)."""
    (sid, customer_id, msisdn, kind, revoked, access_until, until, last_seen) = session
    now = clock.now()
    due = needs_write(
        kind=kind,
        revoked_at=revoked,
        access_expires_at=access_until,
        expires_at=until,
        last_seen_at=last_seen,
        now=now,
    )
    if due and timed_out(kind=kind, last_seen_at=last_seen, now=now):
        return None
    if aid is None or anum is None or cur is None:
        raise AccountNotFound(NO_SUCH_ACCOUNT)
    seen = seen_now(session_id=sid, kind=kind, expires_at=until, now=now) if due else None
    return Checked(OwnAccount(Principal(customer_id, msisdn, sid, kind), aid, anum, cur), seen)


@dataclass(frozen=True, slots=True)
class CheckedStatement:
    checked: Checked
    statement: Statement


async def own_statement(
    engine: AsyncEngine, access_token: str, number: str
) -> CheckedStatement | None:
    """``own_account`` and the account's statement; on PostgreSQL in one query. The same
    refusals, the same None (the ordinary path must run: a web session timed out)."""
    if engine.dialect.driver != "asyncpg":
        checked = await own_account(engine, access_token, number)
        if checked is None:
            return None
        return CheckedStatement(checked, await read_statement(engine, checked.own.number))
    digest, wanted = token_hash(access_token or ""), (number or "").strip()
    rows = await _fetch(engine, OWN_STATEMENT, digest, wanted)
    if not rows:
        raise NotAuthenticated("not logged in")
    first = tuple(rows[0])
    # BY_NUMBER's columns: the number, the status, the currency first; the account id last.
    head = first[SESSION_COLUMNS:]
    checked = _checked(first[:SESSION_COLUMNS], head[-1], head[0], head[2])
    if checked is None:
        return None
    statement = from_rows(checked.own.number, [tuple(r)[SESSION_COLUMNS:-1] for r in rows])
    return CheckedStatement(checked, statement)
