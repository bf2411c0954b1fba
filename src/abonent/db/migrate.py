"""Schema migrations, run programmatically so that the installed package can migrate itself."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("abonent.url", url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Blocking: for the CLI and for test setup outside an event loop."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_on(connection: AsyncConnection, revision: str = "head") -> None:
    def _do(sync_connection: object) -> None:
        cfg = alembic_config("")
        cfg.attributes["connection"] = sync_connection
        command.upgrade(cfg, revision)

    await connection.run_sync(_do)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def current_revision(connection: AsyncConnection) -> str | None:
    def _current(sync_connection: object) -> str | None:
        return MigrationContext.configure(sync_connection).get_current_revision()  # type: ignore[arg-type]

    return await connection.run_sync(_current)


async def answering_revision(engine: AsyncEngine) -> str | None:
    """Prove the database answers (``SELECT 1``), then read its schema revision (None: never
    migrated). Read directly: alembic's own reader logs two lines per call, and a load balancer
    calls ``/readyz`` every few seconds."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        try:
            async with conn.begin_nested() if conn.in_transaction() else conn.begin():
                revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:
            return None  # no such table: a database never migrated
        return None if revision is None else str(revision)
