"""Many rows into one table in one statement, the fast way each database offers.

PostgreSQL: ``INSERT … SELECT … FROM unnest(array, array, …)``, one array per column, so the
rows cross the wire as a few arrays and no per-row parameter processing happens in Python.
SQLite: an ``executemany`` of the same insert. The rows are the same either way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Integer,
    String,
    insert,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator, TypeEngine


def _pg_type(kind: TypeEngine[Any]) -> str:
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, BigInteger):
        return "bigint"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, DateTime):
        return "timestamptz"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, JSON):
        return "json"
    if isinstance(kind, String):
        return "text"
    raise TypeError(f"no bulk mapping for {kind!r}")


async def insert_rows(
    session: AsyncSession,
    table: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    same: Mapping[str, Any] | None = None,
) -> int:
    """Insert ``rows`` (each a mapping of the same columns) with ``same`` (columns whose value
    is one for every row) into ``table`` (a model's ``__table__``). Only the table's and its
    columns' own names are written into the statement; every value is a bound parameter."""
    if not rows:
        return 0
    same = dict(same or {})
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(insert(table), [{**row, **same} for row in rows])
        return len(rows)
    columns = list(rows[0])
    params: dict[str, Any] = {}
    arrays, selects = [], []
    for n, name in enumerate(columns):
        kind = _pg_type(table.c[name].type)
        values = [row[name] for row in rows]
        if kind == "json":
            values = [json.dumps(v, ensure_ascii=False) for v in values]
            arrays.append(f"CAST(:a{n} AS text[])")
            selects.append(f"u.c{n}::json")
        else:
            arrays.append(f"CAST(:a{n} AS {kind}[])")
            selects.append(f"u.c{n}")
        params[f"a{n}"] = values
    for n, (name, value) in enumerate(same.items()):
        kind = _pg_type(table.c[name].type)
        if kind == "json":
            value = json.dumps(value, ensure_ascii=False)
            selects.append(f"CAST(:s{n} AS text)::json")
        else:
            selects.append(f"CAST(:s{n} AS {kind})")
        params[f"s{n}"] = value
    names = ", ".join([*columns, *same])
    aliases = ", ".join(f"c{n}" for n in range(len(columns)))
    sql = (
        f"INSERT INTO {table.name} ({names}) SELECT {', '.join(selects)} "  # noqa: S608
        f"FROM unnest({', '.join(arrays)}) AS u({aliases})"
    )
    await session.execute(text(sql), params)
    return len(rows)
