"""The schema the migrations build is the one the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import abonent.models  # noqa: F401 - every table registers itself on Base.metadata
from abonent.db.migrate import head_revision
from abonent.db.uow import Database
from abonent.models.base import Base


async def test_migrations_build_exactly_the_models(db: Database) -> None:
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
        revision = await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    assert diff == []
    assert revision == head_revision() == "0019"
