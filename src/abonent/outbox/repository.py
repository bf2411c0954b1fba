"""Queries and set-based writes over the outbox. No rules here: the service decides what to write.

The relay's steps touch a batch at a time, so these are one statement a batch (no ORM object
per message): a relay of SMS spends most of its own time here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
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
from abonent.models.base import UTCDateTime

_NO_SYNC = {"synchronize_session": False}

# On PostgreSQL the batch statements take arrays: one fixed text whatever the batch's size (one
# prepared statement, no IN list rendered and converted value by value at every call).
_TAKE_PG = text(
    "UPDATE outbox SET attempts = attempts + 1, claimed_until = CAST(:until AS timestamptz) "
    "WHERE id = ANY(CAST(:ids AS bigint[]))"
)
_MARK_DONE_PG = text(
    """
    UPDATE outbox AS m
    SET status = 'done', processed_at = CAST(:now AS timestamptz), last_error = NULL,
        claimed_until = NULL
    FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS integer[])) AS c(id, attempts)
    WHERE m.id = c.id AND m.attempts = c.attempts AND m.status = 'pending'
    RETURNING m.id
    """
)
_ADD_ATTEMPTS_PG = text(
    "INSERT INTO outbox_attempts (message_id, ok, error, at) "
    "SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:oks AS boolean[]), "
    "CAST(:errors AS text[]), CAST(:ats AS timestamptz[]))"
)


_LOCK_DUE_PG = text(
    """
    SELECT id, topic, payload, account_id, attempts, claimed_until FROM outbox
    WHERE status = 'pending' AND available_at <= CAST(:now AS timestamptz)
      AND (claimed_until IS NULL OR claimed_until <= CAST(:now AS timestamptz))
    ORDER BY available_at, id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
).columns(
    column("id", BigInteger),
    column("topic", String),
    column("payload", JSON),
    column("account_id", BigInteger),
    column("attempts", Integer),
    column("claimed_until", UTCDateTime),
)


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
    if _postgres(session):
        return (await session.execute(_LOCK_DUE_PG, {"now": now, "limit": limit})).all()
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
    if ids and _postgres(session):
        await session.execute(_TAKE_PG, {"ids": list(ids), "until": until})
    elif ids:
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
        rows = await session.scalars(
            _MARK_DONE_PG,
            {"now": now, "ids": [c[0] for c in claims], "attempts": [c[1] for c in claims]},
        )
        return set(rows)
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
