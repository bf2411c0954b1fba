from __future__ import annotations

from functools import lru_cache

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from abonent.api.deps import Db
from abonent.api.problems import problem
from abonent.db.migrate import answering_revision, head_revision

router = APIRouter(tags=["health"])
log = structlog.get_logger(__name__)


@router.get("/healthz")
async def healthz(db: Db) -> dict[str, object]:
    """Liveness: the database answers; says whether the schema is migrated to head."""
    revision = await answering_revision(db.engine)
    head = _head()
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


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: the database or the migrations (problem+json)"}},
)
async def readyz(db: Db) -> JSONResponse:
    """Readiness for a load balancer: 200 once the database answers and its schema is at the
    head revision this code ships; 503 problem+json saying which is not so."""
    head = _head()
    try:
        revision = await answering_revision(db.engine)
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
