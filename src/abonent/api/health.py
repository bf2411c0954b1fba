from __future__ import annotations

from fastapi import APIRouter

from abonent.api.deps import Db
from abonent.db.migrate import answering_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(db: Db) -> dict[str, object]:
    """Liveness and readiness: the database answers and the schema is migrated to head."""
    revision = await answering_revision(db.engine)
    head = head_revision()
    return {
        "status": "ok" if revision == head else "migrations_pending",
        "database": "sqlite" if db.is_sqlite else "postgresql",
        "schema_revision": revision,
        "head_revision": head,
    }
