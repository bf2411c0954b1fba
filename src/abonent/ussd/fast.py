"""``*100#`` on PostgreSQL without the ORM, its round trips shared by concurrent requests.

The balance inquiry is the one USSD request that comes in bulk, and every one of them must
write (its session row, for a reused id to be told apart, and the details SMS in the outbox).
Through a unit of work that is a dozen round trips and most of the CPU of the request; here a
request takes part in two statements, each shared with whoever else is asking at the same time
(:mod:`.batch`): the statements of the numbers' accounts (the statement's own query and
builder, as in :mod:`abonent.statement.reader`, once per number in one ``LATERAL``), and one
autocommitted ``INSERT … ; INSERT … SELECT`` that writes every request's two rows, or none for a
session id that exists already. The rows and the screen are those of the general path
(:mod:`.service`), which answers everything this one declines (None): any other dialogue or
step, SQLite, an unknown or closed number, an account not active, a session id seen before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import re
import weakref
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import greenlet_spawn

from abonent.config import Settings
from abonent.kit import clock
from abonent.kit.errors import InvalidInput
from abonent.kit.numbers import normalize_msisdn
from abonent.outbox.service import SMS_SEND
from abonent.statement.repository import BY_NUMBER
from abonent.statement.service import from_rows
from abonent.ussd import engine as screens
from abonent.ussd.batch import Batcher

# Parsing a number with phonenumbers costs more than the rest of the request's Python; the
# same subscribers dial again and again, and a number's E.164 form never changes.
normalized = functools.lru_cache(maxsize=65_536)(normalize_msisdn)
# What aggregators send is already E.164 (+7 9xx …): that text is its own normal form when the
# number is valid, and when it is not, no SIM has it (numbers are stored normalised), so the
# look-up finds nothing and the general path gives the unknown-number screen, as it would.
_E164_RU_MOBILE = re.compile(r"\+79[0-9]{9}")

# The statement's own query (statement.service.BY_NUMBER), asked for the account of an open
# SIM instead of a typed number: no row at all for an unknown or closed number.
_OF_SIM = (
    "(SELECT a.number FROM services AS sv JOIN accounts AS a ON a.id = sv.account_id "
    "WHERE sv.msisdn = q.msisdn AND sv.status <> 'closed')"
)
# Its rows for every number of the batch, each row ending with the number's place in it.
# ``OFFSET 0`` keeps the subquery whole, so each number is the indexed look-up it is alone.
_READ = (
    "SELECT st.*, q.i FROM unnest($1::text[]) WITH ORDINALITY AS q(msisdn, i) "
    "CROSS JOIN LATERAL ({statement} OFFSET 0) AS st"
)
_PLACE = len(BY_NUMBER.selected_columns)

# One statement, its own transaction. ``set_config(…, true)`` lasts as long as that
# transaction: an inquiry moves no money, so its session row and the courtesy SMS are not worth
# a wait for the disk; a crash in the next fraction of a second may lose them (the subscriber
# dials again), never a posting, for none is written here. The SMS of a session is written only
# with its session row, so a session id seen before gets neither.
_WRITE = """
WITH quick AS (SELECT set_config('synchronous_commit', 'off', true) AS v),
q AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                         $6::text[], $7::text[])
        AS q(session_id, msisdn, service_code, state, at, topic, payload)
),
s AS (
    INSERT INTO ussd_sessions
        (session_id, msisdn, service_code, status, state, steps, created_at, updated_at)
    SELECT q.session_id, q.msisdn, q.service_code, 'ended', q.state::json, 1, q.at, q.at
    FROM q CROSS JOIN quick
    ON CONFLICT (session_id) DO NOTHING
    RETURNING session_id
),
o AS (
    INSERT INTO outbox
        (topic, payload, account_id, dedupe_key, status, attempts, available_at, created_at)
    SELECT q.topic, q.payload::json, (SELECT account_id FROM services WHERE msisdn = q.msisdn),
           'sms:ussd:' || s.session_id, 'pending', 0, q.at, q.at
    FROM s JOIN q ON q.session_id = s.session_id
    WHERE q.topic IS NOT NULL
)
SELECT session_id FROM s
"""

# (session id, msisdn, service code, state JSON, now, SMS topic or None, SMS payload or None)
_Rows = tuple[str, str, str, str, dt.datetime, str | None, str | None]

_compiled: dict[int, str] = {}


def _sql(dialect: Dialect) -> str:
    sql = _compiled.get(id(dialect))
    if sql is None:
        compiled = BY_NUMBER.compile(dialect=dialect)
        text = str(compiled)
        if list(compiled.positiontup or ()) != ["number"] or text.count("$1") != 1:
            raise AssertionError(f"unexpected parameters {compiled.positiontup}")
        sql = _compiled[id(dialect)] = _READ.format(statement=text.replace("$1", _OF_SIM))
    return sql


class _Lane:
    """The batchers of one engine, on the event loop that made them."""

    def __init__(self, engine: AsyncEngine) -> None:
        # Weakly: the lane is the value of a weak dictionary keyed by this engine.
        self.engine = weakref.ref(engine.sync_engine)
        self.sql = _sql(engine.dialect)
        # A pooled connection for each batch in flight: a few, whatever the load.
        self.reads: Batcher[str, list[Any]] = Batcher(self._read, in_flight=2)
        self.writes: Batcher[_Rows, bool] = Batcher(self._write, in_flight=2)

    async def _with(self, work: Any) -> Any:
        engine = self.engine()
        if engine is None:
            raise RuntimeError("the engine was disposed of")
        pooled = await greenlet_spawn(engine.raw_connection)
        try:
            return await work(pooled.driver_connection)
        except BaseException:
            await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            await greenlet_spawn(pooled.close)

    async def _read(self, msisdns: list[str]) -> list[list[Any]]:
        rows = await self._with(lambda conn: conn.fetch(self.sql, msisdns))
        out: list[list[Any]] = [[] for _ in msisdns]
        for row in rows:
            out[row[_PLACE] - 1].append(row)
        return out

    async def _write(self, items: list[_Rows]) -> list[bool]:
        # The same id twice in one batch: only the first can be a new dialogue.
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            first.setdefault(item[0], i)
        chosen = [items[i] for i in first.values()]
        columns = [list(column) for column in zip(*chosen, strict=True)]
        rows = await self._with(lambda conn: conn.fetch(_WRITE, *columns))
        written = {row[0] for row in rows}
        return [first[item[0]] == i and item[0] in written for i, item in enumerate(items)]


_lanes: weakref.WeakKeyDictionary[Engine, _Lane] = weakref.WeakKeyDictionary()


def _lane(engine: AsyncEngine) -> _Lane:
    lane = _lanes.get(engine.sync_engine)
    if lane is None or lane.reads.loop is not asyncio.get_running_loop():
        lane = _lanes[engine.sync_engine] = _Lane(engine)
    return lane


def _msisdn(raw: str) -> str | None:
    if _E164_RU_MOBILE.fullmatch(raw):
        return raw
    try:
        return normalized(raw)
    except InvalidInput:
        return None


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
    msisdn = _msisdn(msisdn_raw)
    if msisdn is None:
        return None
    lane = _lane(engine)
    rows: Sequence[Any] = await lane.reads.submit(msisdn)
    if not rows or rows[0][1] != "active":
        return None
    statement = from_rows(rows[0][0], rows)
    step = screens.balance(statement, details_by_sms=settings.ussd.details_by_sms)
    state = json.dumps(
        {"engine": step.state, "text": "", "last": {"text": step.reply.text, "end": True}}
    )
    topic = payload = None
    if isinstance(step.action, screens.SendDetails):
        topic = SMS_SEND
        payload = json.dumps(
            {
                "to": msisdn,
                "text": screens.details_sms(statement),
                "kind": "ussd_details",
                "category": "service",
            }
        )
    written = await lane.writes.submit(
        (session_id, msisdn, service_code, state, clock.now(), topic, payload)
    )
    # Nothing written: the id was used before, and the general path says what that means.
    return step.reply if written else None
