"""Reads and writes of sms_messages / sms_parts (and the outbox's SMS for the dev page)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import OutboxMessage, SmsMessage, SmsPart


async def by_outbox_id(session: AsyncSession, outbox_message_id: int) -> SmsMessage | None:
    found: SmsMessage | None = await session.scalar(
        select(SmsMessage).where(SmsMessage.outbox_message_id == outbox_message_id)
    )
    return found


async def by_id(
    session: AsyncSession, sms_id: int, *, for_update: bool = False
) -> SmsMessage | None:
    # Receipts for two parts of one message may be applied at once: the row lock orders them.
    return await session.get(SmsMessage, sms_id, with_for_update=for_update or None)


async def part_by_gateway_id(session: AsyncSession, gateway_message_id: str) -> SmsPart | None:
    found: SmsPart | None = await session.scalar(
        select(SmsPart).where(SmsPart.gateway_message_id == gateway_message_id)
    )
    return found


async def parts_of(session: AsyncSession, sms_id: int) -> Sequence[SmsPart]:
    return (
        await session.scalars(select(SmsPart).where(SmsPart.sms_id == sms_id).order_by(SmsPart.seq))
    ).all()


async def listing(
    session: AsyncSession, *, status: str | None = None, limit: int = 50
) -> Sequence[SmsMessage]:
    query = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
    if status is not None:
        query = query.where(SmsMessage.status == status)
    return (await session.scalars(query)).all()


async def recent_outbox(
    session: AsyncSession, topic: str, limit: int = 100
) -> Sequence[OutboxMessage]:
    return (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.topic == topic)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    ).all()


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(SmsMessage.status, func.count()).group_by(SmsMessage.status)
    )
    return {status: count for status, count in rows}


async def statuses_for_outbox(
    session: AsyncSession, outbox_ids: Sequence[int]
) -> dict[int, SmsMessage]:
    if not outbox_ids:
        return {}
    rows = await session.scalars(
        select(SmsMessage).where(SmsMessage.outbox_message_id.in_(outbox_ids))
    )
    return {row.outbox_message_id: row for row in rows if row.outbox_message_id is not None}


async def insert_sent(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[int, int]:
    """Insert sms_messages rows of relayed SMS; their ids by outbox message id."""
    if not rows:
        return {}
    # Core, not ORM-enabled, inserts: the ORM's bulk path costs a relay more per row than the
    # statement itself (the column types still convert every value).
    table = cast(Table, SmsMessage.__table__)
    inserted = await session.execute(
        insert(table).returning(table.c.id, table.c.outbox_message_id), list(rows)
    )
    return {outbox_id: sms_id for sms_id, outbox_id in inserted if outbox_id is not None}


async def insert_parts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(cast(Table, SmsPart.__table__)), list(rows))


# One statement for a relayed batch on PostgreSQL: the messages and their parts from arrays (a
# fixed text whatever the batch's size, so one prepared statement), no row-by-row parameters.
_INSERT_SENT_PG = """
    WITH m AS (
        INSERT INTO sms_messages
            (outbox_message_id, to_msisdn, category, status, parts, created_at, sent_at)
        SELECT o, t, c, 'sent', n, $1::timestamptz, $1::timestamptz
        FROM unnest($2::bigint[], $3::varchar[], $4::varchar[], $5::integer[]) AS x(o, t, c, n)
        RETURNING id, outbox_message_id
    ), p AS (
        INSERT INTO sms_parts (sms_id, seq, gateway_message_id)
        SELECT m.id, y.seq, y.gid
        FROM unnest($6::bigint[], $7::integer[], $8::varchar[]) AS y(o, seq, gid)
        JOIN m ON m.outbox_message_id = y.o
    )
    SELECT id, outbox_message_id FROM m
"""
"""Relayed SMS and their parts in one statement (PostgreSQL), a driver text ($n): a session
runs it through ``exec_driver_sql``, the relay's one-statement record on a bare connection."""


def _sent_parameters(
    messages: Sequence[tuple[int, str, str, Sequence[str]]], now: Any
) -> tuple[Any, ...]:
    return (
        now,
        [m[0] for m in messages],
        [m[1] for m in messages],
        [m[2] for m in messages],
        [len(m[3]) for m in messages],
        [m[0] for m in messages for _ in m[3]],
        [seq for m in messages for seq in range(1, len(m[3]) + 1)],
        [part for m in messages for part in m[3]],
    )


async def insert_sent_with_parts_on(
    connection: Any, messages: Sequence[tuple[int, str, str, Sequence[str]]], now: Any
) -> None:
    """:func:`insert_sent_with_parts` on a driver connection with no transaction open
    (PostgreSQL): the statement is its own unit of work."""
    if messages:
        await connection.execute(_INSERT_SENT_PG, *_sent_parameters(messages, now))


async def insert_sent_with_parts(
    session: AsyncSession,
    messages: Sequence[tuple[int, str, str, Sequence[str]]],
    now: Any,
) -> dict[int, int]:
    """Insert relayed SMS as sent, with their parts: (outbox id, to, category, gateway ids)
    each. Their sms ids by outbox message id."""
    if not messages:
        return {}
    if session.get_bind().dialect.name != "postgresql":
        ids = await insert_sent(
            session,
            [
                {
                    "outbox_message_id": outbox_id,
                    "to_msisdn": to,
                    "category": category,
                    "status": "sent",
                    "parts": len(parts),
                    "created_at": now,
                    "sent_at": now,
                }
                for outbox_id, to, category, parts in messages
            ],
        )
        await insert_parts(
            session,
            [
                {"sms_id": ids[outbox_id], "seq": seq, "gateway_message_id": part}
                for outbox_id, _, _, parts in messages
                for seq, part in enumerate(parts, 1)
            ],
        )
        return ids
    connection = await session.connection()
    rows = await connection.exec_driver_sql(_INSERT_SENT_PG, _sent_parameters(messages, now))
    pairs = cast(Sequence[tuple[int, int]], rows.all())
    return {outbox_id: sms_id for sms_id, outbox_id in pairs}
