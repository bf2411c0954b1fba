"""``/readyz``: 200 when the database answers at the head revision, 503 problem+json saying which
check failed otherwise. ``/healthz`` stays liveness."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from abonent.app import create_app
from abonent.db.migrate import head_revision
from abonent.db.uow import Database
from tests.conftest import PG_URL, _pg


async def _readyz(db: Database) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(db))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        return await c.get("/readyz")


async def test_a_migrated_database_is_ready(http: httpx.AsyncClient) -> None:
    r = await http.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "schema_revision": head_revision()}


async def test_an_empty_database_is_not_ready(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url, name = f"sqlite:///{tmp_path / 'empty.db'}", None
    else:
        assert PG_URL is not None
        name = f"abonent_empty_{uuid.uuid4().hex[:8]}"
        await _pg(PG_URL, f'CREATE DATABASE "{name}"')
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    try:
        r = await _readyz(db)
    finally:
        await db.dispose()
        if name:
            await _pg(PG_URL or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "migrations_pending" and body["check"] == "migrations"
    assert body["schema_revision"] is None and body["head_revision"] == head_revision()


async def test_a_database_that_does_not_answer_is_not_ready(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        # A file that is not a database stands for a broken disk.
        broken = tmp_path / "broken.db"
        broken.write_bytes(b"not a database at all" * 100)
        url = f"sqlite:///{broken}"
    else:
        url = "postgresql://postgres@127.0.0.1:1/postgres"
    db = Database(url)
    try:
        r = await _readyz(db)
    finally:
        await db.dispose()
    assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
