"""Shared by the API tests: keys for every role, and a whole-database snapshot.

A refusal test takes a snapshot before and after the refused request and asserts they are
equal: every row of every table, not a count of one of them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from abonent.db.uow import Database
from abonent.models import Base
from abonent.models.ops import ROLES
from tests.factories import api_key

Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot(db: Database) -> Snapshot:
    """Every row of every table, in primary-key order."""
    out: Snapshot = {}
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            rows = (await session.execute(select(table).order_by(*order))).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


async def keys_for_roles(db: Database) -> dict[str, str]:
    return {role: await api_key(db, role, name=f"k-{role}") for role in ROLES}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"] == f"urn:abonent:error:{code}"
    return body
