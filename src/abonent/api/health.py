from __future__ import annotations

from functools import lru_cache

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from abonent.api.deps import Db
from abonent.api.problems import problem
from abonent.db.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])
log = structlog.get_logger(__name__)


@router.get("/healthz")
async def healthz(db: Db) -> dict[str, object]:
    """Liveness and readiness: the database answers and the schema is migrated to head."""
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        revision = await current_revision(conn)
    head = head_revision()
    return {
        "status": "ok" if revision == head else "migrations_pending",
        "database": "sqlite" if db.is_sqlite else "postgresql",
        "schema_revision": revision,
        "head_revision": head,
    }


@lru_cache(maxsize=1)
def _head() -> str | None:
    # The migrations shipped with this process do not change while it runs.
    return head_revision()


async def _revision(conn: AsyncConnection) -> str | None:
    """alembic_version read directly: alembic's own reader logs two lines per call, and a
    load balancer calls this every few seconds."""
    try:
        async with conn.begin_nested() if conn.in_transaction() else conn.begin():
            revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            return None if revision is None else str(revision)
    except DBAPIError:
        return None  # no such table: a database never migrated


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: the database or the migrations (problem+json)"}},
)
async def readyz(db: Db) -> JSONResponse:
    """Readiness for a load balancer: 200 once the database answers and its schema is at the
    head revision this code ships; 503 problem+json saying which is not so."""
    head = _head()
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            revision = await _revision(conn)
    except Exception as exc:
        log.warning("readyz.database_unavailable", error=type(exc).__name__)
        return problem(
            503,
            "database_unavailable",
            "Not ready",
            "the database does not answer",
            check="database",
        )
    if revision != head:
        return problem(
            503,
            "migrations_pending",
            "Not ready",
            f"the database schema is at {revision or 'no revision'}, this code needs {head}",
            check="migrations",
            schema_revision=revision,
            head_revision=head,
        )
    return JSONResponse({"status": "ready", "schema_revision": revision})
