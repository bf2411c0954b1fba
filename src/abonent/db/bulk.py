"""Many rows into one table in one round trip, the fast way each database offers.

PostgreSQL: a binary ``COPY`` through the unit of work's own connection and transaction
(``copy_records_to_table`` of the driver, reached by public API). Measured on 80 000 rows of
six columns (the dunning run's progress rows of 10 000 debtors): 0.09 s to COPY them into a
table with no index, against 0.41 s only to pass them as six ``unnest`` arrays to a bare
``SELECT`` (the driver checks every array element in Python); in the run, that insert went
from 1.6–2.2 s to 1.1–1.5 s. The table's own work (heap, indexes, foreign-key checks) is the
same either way.
SQLite: an ``executemany`` of the insert. The rows are the same either way
(tests/db/test_bulk.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, BigInteger, ColumnElement, any_, bindparam, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeDecorator

IN_LIST_MAX = 10_000
"""Ids per IN list where a list it must be: SQLite takes at most 32 766 parameters a statement."""
# One encoder, not json.dumps(…, ensure_ascii=False), which builds a new one on every call.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _is_json(column: Any) -> bool:
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    return isinstance(kind, JSON)


def id_filters(
    session: AsyncSession,
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    ids: Sequence[int],
) -> list[ColumnElement[bool]]:
    """``column`` among ``ids``, as the conditions of one statement each: on PostgreSQL one
    ``= ANY(array)`` with the ids as a single parameter (nothing compiled per id, no parameter
    limit); elsewhere IN lists of at most :data:`IN_LIST_MAX`. None for no ids."""
    ids = list(ids)
    if not ids:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return [column == any_(bindparam(None, ids, type_=ARRAY(BigInteger)))]
    return [column.in_(ids[n : n + IN_LIST_MAX]) for n in range(0, len(ids), IN_LIST_MAX)]


async def insert_rows(
    session: AsyncSession,
    table: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    same: Mapping[str, Any] | None = None,
) -> int:
    """Insert ``rows`` (each a mapping of the same columns) with ``same`` (columns whose value
    is one for every row) into ``table`` (a model's ``__table__``), in the session's
    transaction. Values go as data, never into the statement's text."""
    if not rows:
        return 0
    columns = list(rows[0])
    return await insert_records(
        session, table, columns, [tuple(row[name] for name in columns) for row in rows], same=same
    )


async def insert_records(
    session: AsyncSession,
    table: Any,
    columns: Sequence[str],
    records: Sequence[tuple[Any, ...]],
    *,
    same: Mapping[str, Any] | None = None,
) -> int:
    """:func:`insert_rows` with each row a tuple in ``columns``' order: a night's hundreds of
    thousands of rows are built with no mapping each."""
    if not records:
        return 0
    same = dict(same or {})
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(
            insert(table),
            [{**dict(zip(columns, record, strict=True)), **same} for record in records],
        )
        return len(records)
    json_at = [n for n, name in enumerate(columns) if _is_json(table.c[name])]
    tail = tuple(
        _to_json(value) if _is_json(table.c[name]) else value for name, value in same.items()
    )
    if json_at:
        encoded = []
        for record in records:
            values = list(record)
            for n in json_at:
                values[n] = _to_json(values[n])
            encoded.append((*values, *tail))
    elif tail:
        encoded = [(*record, *tail) for record in records]
    else:
        encoded = list(records)
    await copy_records(session, table.name, [*columns, *same], encoded)
    return len(records)


async def copy_records(
    session: AsyncSession, table: str, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
) -> None:
    """PostgreSQL only: ``COPY`` the records (tuples in ``columns``' order) into ``table``
    inside the session's transaction. A JSON column takes its value as JSON text."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction():
        # The driver opens the transaction at the first statement; a COPY issued before any
        # would commit on its own, outside the unit of work.
        await connection.execute(select(1))
    try:
        await driver.copy_records_to_table(table, records=records, columns=list(columns))
    except Exception as exc:
        # The driver's own error, given the shape the unit of work knows (a unique violation
        # is an IntegrityError there, as it would be from an INSERT).
        state = str(getattr(exc, "sqlstate", "") or "")
        if not state:
            raise
        kind = IntegrityError if state.startswith("23") else DBAPIError
        raise kind(f"COPY {table}", None, exc) from exc
