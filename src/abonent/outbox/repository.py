"""Queries and set-based writes over the outbox. No rules here: the service decides what to write.

The relay's steps touch a batch at a time, so these are one statement a batch (no ORM object
per message): a relay of SMS spends most of its own time here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    String,
    Table,
    column,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.bulk import insert_records
from abonent.models import OutboxAttempt, OutboxMessage

_NO_SYNC = {"synchronize_session": False}

# On PostgreSQL the batch statements take arrays: one fixed text whatever the batch's size (one
# prepared statement, no IN list rendered and converted value by value at every call). They are
# driver texts ($n parameters): a session runs them through ``exec_driver_sql``, the relay's
# one-statement steps on a bare driver connection (``Database.statement_connection``).
_MARK_DONE = """
    UPDATE outbox AS m
    SET status = 'done', processed_at = $1::timestamptz, last_error = NULL, claimed_until = NULL
    FROM unnest($2::bigint[], $3::integer[]) AS c(id, attempts)
    WHERE m.id = c.id AND m.attempts = c.attempts AND m.status = 'pending'
    RETURNING m.id
"""
_ADD_ATTEMPTS_PG = text(
    "INSERT INTO outbox_attempts (message_id, ok, error, at) "
    "SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:oks AS boolean[]), "
    "CAST(:errors AS text[]), CAST(:ats AS timestamptz[]))"
)

CLAIM_IN_ONE_STATEMENT = """
    WITH due AS (
        SELECT id, attempts AS tried, claimed_until AS was FROM outbox
        WHERE status = 'pending' AND available_at <= $1::timestamptz
          AND (claimed_until IS NULL OR claimed_until <= $1::timestamptz)
        ORDER BY available_at, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
    ), decided AS (
        SELECT id, tried, was, (was IS NOT NULL AND tried >= $4) AS given_up FROM due
    ), changed AS (
        UPDATE outbox AS m
        SET attempts = CASE WHEN d.given_up THEN m.attempts ELSE m.attempts + 1 END,
            claimed_until = CASE WHEN d.given_up THEN NULL ELSE $3::timestamptz END,
            status = CASE WHEN d.given_up THEN 'dead' ELSE m.status END,
            last_error = CASE WHEN d.given_up THEN $5::text ELSE m.last_error END
        FROM decided AS d
        WHERE m.id = d.id
        RETURNING m.id, m.topic, m.payload, m.account_id, d.tried, d.was, m.available_at
    ), lost AS (
        INSERT INTO outbox_attempts (message_id, ok, error, at)
        SELECT id, false, $5::text, $1::timestamptz FROM changed WHERE was IS NOT NULL
    )
    SELECT id, topic, payload, account_id, tried, was FROM changed ORDER BY available_at, id
"""
"""``claim_due``'s reads and writes as one statement (PostgreSQL): $1 now, $2 the batch's
size, $3 the lease's end, $4 the attempts allowed, $5 the lost attempt's error. The due rows
are locked as :func:`lock_due` locks them; each is leased with one more attempt (:func:`take`)
unless its lease ran out on its last attempt, then it is given up (:func:`give_up`); every
lease that ran out leaves a failed attempt (:func:`add_attempts`). Rows as :func:`lock_due`'s,
``attempts`` as they were before the claim (tests/outbox/test_pg_relay.py compares the two)."""

DELIVERED_IN_ONE_STATEMENT = f"""
    WITH done AS ({_MARK_DONE}), history AS (
        INSERT INTO outbox_attempts (message_id, ok, error, at)
        SELECT id, true, NULL, $1::timestamptz FROM done
    )
    SELECT id FROM done
"""  # noqa: S608 - composed of this module's constants, no input
"""A batch delivered whole, recorded in one statement (PostgreSQL): :func:`mark_done` and the
attempt history of the messages it marked, as ``record_outcomes`` writes them. $1 now, $2 the
message ids, $3 their claims' attempts."""


_TAKEN_KEYS_PG = text(
    "SELECT dedupe_key FROM outbox WHERE dedupe_key = ANY(CAST(:keys AS varchar[]))"
).columns(column("dedupe_key", String))
_KEYS_PER_LIST = 10_000
"""Keys per IN list on SQLite, which takes at most 32 766 parameters a statement."""


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def lock_due(
    session: AsyncSession, now: dt.datetime, limit: int
) -> Sequence[tuple[Any, ...]]:
    """Pending messages due by ``now`` and claimed by no live lease, oldest first, locked:
    (id, topic, payload, account_id, attempts, claimed_until).

    ``SKIP LOCKED`` lets several relays on PostgreSQL share the queue: each takes rows the
    others are not claiming at this moment (SQLite has one writer and ignores the clause).
    """
    m = OutboxMessage
    return (
        await session.execute(
            select(m.id, m.topic, m.payload, m.account_id, m.attempts, m.claimed_until)
            .where(
                m.status == "pending",
                m.available_at <= now,
                or_(m.claimed_until.is_(None), m.claimed_until <= now),
            )
            .order_by(m.available_at, m.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def take(session: AsyncSession, ids: Sequence[int], until: dt.datetime) -> None:
    """Count one more attempt on each message and lease it until ``until``."""
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(attempts=OutboxMessage.attempts + 1, claimed_until=until)
            .execution_options(**_NO_SYNC)
        )


async def give_up(session: AsyncSession, ids: Sequence[int], error: str) -> None:
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status="dead", last_error=error, claimed_until=None)
            .execution_options(**_NO_SYNC)
        )


async def mark_done(
    session: AsyncSession, claims: Sequence[tuple[int, int]], now: dt.datetime
) -> set[int]:
    """Mark done the messages still under the claims named by (message id, attempt); return
    their ids. Every claim counts an attempt, so (id, attempts) names one claim: a message
    another relay claimed since (this one's lease ran out) is not among them."""
    if not claims:
        return set()
    if _postgres(session):
        connection = await session.connection()
        rows = await connection.exec_driver_sql(
            _MARK_DONE, (now, [c[0] for c in claims], [c[1] for c in claims])
        )
        return {row[0] for row in rows}
    done = await session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            tuple_(OutboxMessage.id, OutboxMessage.attempts).in_(claims),
        )
        .values(status="done", processed_at=now, last_error=None, claimed_until=None)
        .returning(OutboxMessage.id)
        .execution_options(**_NO_SYNC)
    )
    return set(done)


async def lock_claimed_many(
    session: AsyncSession, claims: Sequence[tuple[int, int]]
) -> dict[int, OutboxMessage]:
    """The messages still under the claims named by (message id, attempt), by id, locked.

    Locked in id order, so two relays recording overlapping batches cannot deadlock.
    """
    if not claims:
        return {}
    wanted = dict(claims)
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(wanted), OutboxMessage.status == "pending")
        .order_by(OutboxMessage.id)
        .with_for_update()
    )
    return {row.id: row for row in rows if row.attempts == wanted[row.id]}


async def claim_on(
    connection: Any,
    now: dt.datetime,
    limit: int,
    until: dt.datetime,
    max_attempts: int,
    lost_error: str,
) -> Sequence[tuple[Any, ...]]:
    """:data:`CLAIM_IN_ONE_STATEMENT` on a driver connection with no transaction open."""
    return cast(
        Sequence[tuple[Any, ...]],
        await connection.fetch(CLAIM_IN_ONE_STATEMENT, now, limit, until, max_attempts, lost_error),
    )


async def mark_delivered_on(
    connection: Any, claims: Sequence[tuple[int, int]], now: dt.datetime
) -> set[int]:
    """:data:`DELIVERED_IN_ONE_STATEMENT` on a driver connection with no transaction open:
    the ids it marked done."""
    rows = await connection.fetch(
        DELIVERED_IN_ONE_STATEMENT, now, [c[0] for c in claims], [c[1] for c in claims]
    )
    return {int(row[0]) for row in rows}


async def add_attempts(session: AsyncSession, attempts: Sequence[dict[str, Any]]) -> None:
    """Rows of attempt history: ``message_id``, ``ok``, ``error``, ``at`` each."""
    if attempts and _postgres(session):
        await session.execute(
            _ADD_ATTEMPTS_PG,
            {
                "ids": [a["message_id"] for a in attempts],
                "oks": [a["ok"] for a in attempts],
                "errors": [a["error"] for a in attempts],
                "ats": [a["at"] for a in attempts],
            },
        )
    elif attempts:
        await session.execute(insert(cast(Table, OutboxAttempt.__table__)), list(attempts))


async def taken_dedupe_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Those of ``keys`` that a message already has (one look-up over the unique index)."""
    keys = sorted(set(keys))
    if not keys:
        return set()
    if _postgres(session):
        return set(await session.scalars(_TAKEN_KEYS_PG, {"keys": keys}))
    found: set[str] = set()
    for n in range(0, len(keys), _KEYS_PER_LIST):
        chunk = keys[n : n + _KEYS_PER_LIST]
        found.update(
            await session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))
            )
        )
    return found


async def insert_many(
    session: AsyncSession,
    records: Sequence[tuple[str, dict[str, Any], int | None, str | None]],
    *,
    same: dict[str, Any],
) -> None:
    """Pending messages in one statement, (topic, payload, account, dedupe key) each: the
    caller guarantees the dedupe keys are new."""
    await insert_records(
        session,
        OutboxMessage.__table__,
        ("topic", "payload", "account_id", "dedupe_key"),
        records,
        same=same,
    )
