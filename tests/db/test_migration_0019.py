"""Migration 0019 on data: a customer zone that may have been filled in is cleared, a chosen one
is kept, and the downgrade puts the operator's zone back; on both databases."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url

from abonent.db import migrate
from abonent.db.uow import Database
from tests.conftest import PG_URL, _pg

ROWS = [
    (1, "Europe/Moscow"),  # the column's default and the shipped ABONENT_TIMEZONE: cleared
    (2, "Asia/Omsk"),  # can only have been chosen: kept
    (3, "Asia/Vladivostok"),  # the ABONENT_TIMEZONE this deployment runs with: cleared
]


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (not the suite's migrated one)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    assert PG_URL is not None
    name = f"abonent_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg(PG_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _sql(url: str, statement: str) -> list[tuple[object, ...]]:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            result = await conn.execute(text(statement))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        await db.dispose()


def test_customer_zones_filled_in_are_cleared_and_chosen_ones_kept(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABONENT_TIMEZONE", "Asia/Vladivostok")
    migrate.upgrade(fresh_url, "0018")
    values = ", ".join(
        f"({i}, 'person', 'Клиент {i}', '{zone}', '2026-01-01 00:00:00')" for i, zone in ROWS
    )
    asyncio.run(
        _sql(
            fresh_url,
            "INSERT INTO customers (id, kind, full_name, timezone, created_at) VALUES " + values,
        )
    )
    migrate.upgrade(fresh_url, "0019")
    got = asyncio.run(_sql(fresh_url, "SELECT id, timezone FROM customers ORDER BY id"))
    assert got == [(1, None), (2, "Asia/Omsk"), (3, None)]
    assert asyncio.run(_sql(fresh_url, "SELECT count(*) FROM notice_templates")) == [(0,)]

    command.downgrade(migrate.alembic_config(fresh_url), "0018")
    got = asyncio.run(_sql(fresh_url, "SELECT id, timezone FROM customers ORDER BY id"))
    assert got == [(1, "Asia/Vladivostok"), (2, "Asia/Omsk"), (3, "Asia/Vladivostok")]
