"""``*100#`` on PostgreSQL in two statements on one pooled connection, without the ORM.

The balance inquiry is the one USSD request that comes in bulk, and every one of them must
write (its session row, for a reused id to be told apart, and the details SMS in the outbox).
Through a unit of work that is a dozen round trips and most of the CPU of the request; here it
is two: the statement of the number's account (the statement's own query and builder, as in
:mod:`abonent.statement.reader`), and one autocommitted ``INSERT … ; INSERT … SELECT`` that
writes both rows, or none when the session id exists already. The rows and the screen are those
of the general path (:mod:`.service`), which answers everything this one declines (None): any
other dialogue or step, SQLite, an unknown or closed number, an account not active, a session
id seen before.
"""

from __future__ import annotations

import asyncio
import functools
import json
import weakref
from typing import Any

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from sqlalchemy.util.concurrency import greenlet_spawn

from abonent.config import Settings
from abonent.kit import clock
from abonent.kit.errors import InvalidInput
from abonent.kit.numbers import normalize_msisdn
from abonent.outbox.service import SMS_SEND
from abonent.statement.repository import BY_NUMBER
from abonent.statement.service import from_rows
from abonent.ussd import engine as screens

# Parsing a number with phonenumbers costs more than the rest of the request's Python; the
# same subscribers dial again and again, and a number's E.164 form never changes.
normalized = functools.lru_cache(maxsize=65_536)(normalize_msisdn)

# The statement's own query (statement.service.BY_NUMBER), asked for the account of an open
# SIM instead of a typed number: no row at all for an unknown or closed number.
_OF_SIM = (
    "(SELECT a.number FROM services AS sv JOIN accounts AS a ON a.id = sv.account_id "
    "WHERE sv.msisdn = $1 AND sv.status <> 'closed')"
)

# One statement, its own transaction. ``set_config(…, true)`` lasts as long as that
# transaction: an inquiry moves no money, so its session row and the courtesy SMS are not worth
# a wait for the disk; a crash in the next fraction of a second may lose them (the subscriber
# dials again), never a posting, for none is written here.
_WRITE_BOTH = """
WITH quick AS (SELECT set_config('synchronous_commit', 'off', true) AS v),
s AS (
    INSERT INTO ussd_sessions
        (session_id, msisdn, service_code, status, state, steps, created_at, updated_at)
    VALUES ($1, $2, $3, 'ended', $4::json, 1, $5, $5)
    ON CONFLICT (session_id) DO NOTHING
    RETURNING session_id
)
INSERT INTO outbox
    (topic, payload, account_id, dedupe_key, status, attempts, available_at, created_at)
SELECT $6, $7::json, (SELECT account_id FROM services WHERE msisdn = $2),
       'sms:ussd:' || s.session_id, 'pending', 0, $5, $5
FROM s CROSS JOIN quick
RETURNING id
"""
_WRITE_SESSION = """
WITH quick AS (SELECT set_config('synchronous_commit', 'off', true) AS v)
INSERT INTO ussd_sessions
    (session_id, msisdn, service_code, status, state, steps, created_at, updated_at)
SELECT $1, $2, $3, 'ended', $4::json, 1, $5, $5 FROM quick
ON CONFLICT (session_id) DO NOTHING
RETURNING session_id
"""

_compiled: dict[int, str] = {}
_gates: weakref.WeakKeyDictionary[Engine, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _sql(dialect: Dialect) -> str:
    sql = _compiled.get(id(dialect))
    if sql is None:
        compiled = BY_NUMBER.compile(dialect=dialect)
        text = str(compiled)
        if list(compiled.positiontup or ()) != ["number"] or text.count("$1") != 1:
            raise AssertionError(f"unexpected parameters {compiled.positiontup}")
        sql = _compiled[id(dialect)] = text.replace("$1", _OF_SIM)
    return sql


def _gate(engine: AsyncEngine) -> asyncio.Semaphore:
    # As in statement.reader: wait for a pooled connection rather than open overflow ones.
    gate = _gates.get(engine.sync_engine)
    if gate is None:
        pool = engine.sync_engine.pool
        size = pool.size() if isinstance(pool, QueuePool) else 10
        gate = _gates[engine.sync_engine] = asyncio.Semaphore(max(size, 1))
    return gate


async def balance(
    engine: AsyncEngine,
    settings: Settings,
    *,
    session_id: str,
    msisdn_raw: str,
    service_code: str,
    text: str,
) -> screens.Reply | None:
    """The first and only step of ``*100#``, or None: let the general path answer."""
    if engine.dialect.driver != "asyncpg" or text or service_code != settings.ussd.balance_code:
        return None
    try:
        msisdn = normalized(msisdn_raw)
    except InvalidInput:
        return None
    async with _gate(engine):
        pooled = await greenlet_spawn(engine.sync_engine.raw_connection)
        try:
            driver: Any = pooled.driver_connection
            return await _answer(driver, engine.dialect, settings, session_id, msisdn, service_code)
        except BaseException:
            await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            await greenlet_spawn(pooled.close)


async def _answer(
    conn: Any,
    dialect: Dialect,
    settings: Settings,
    session_id: str,
    msisdn: str,
    service_code: str,
) -> screens.Reply | None:
    rows = await conn.fetch(_sql(dialect), msisdn)
    if not rows or rows[0][1] != "active":
        return None
    statement = from_rows(rows[0][0], rows)
    step = screens.balance(statement, details_by_sms=settings.ussd.details_by_sms)
    state = json.dumps(
        {"engine": step.state, "text": "", "last": {"text": step.reply.text, "end": True}}
    )
    now = clock.now()
    written = await _write(conn, step, statement, session_id, msisdn, service_code, state, now)
    # Nothing written: the id was used before, and the general path says what that means.
    return step.reply if written is not None else None


async def _write(
    conn: Any,
    step: screens.Step,
    statement: Any,
    session_id: str,
    msisdn: str,
    service_code: str,
    state: str,
    now: Any,
) -> Any:
    if isinstance(step.action, screens.SendDetails):
        payload = json.dumps(
            {
                "to": msisdn,
                "text": screens.details_sms(statement),
                "kind": "ussd_details",
                "category": "service",
            }
        )
        return await conn.fetchval(
            _WRITE_BOTH, session_id, msisdn, service_code, state, now, SMS_SEND, payload
        )
    return await conn.fetchval(_WRITE_SESSION, session_id, msisdn, service_code, state, now)
