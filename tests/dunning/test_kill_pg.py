"""``kill -9`` of ``abonent dunning run`` on PostgreSQL, where the run keeps two units of work
going at once over disjoint account ranges: 20 kills at random moments, then a run to the end,
and the final state equals that of one uninterrupted run on a copy of the same database.

The same scenario and checks as ``test_kill.py`` (SQLite, one unit at a time); here the two
copies are databases created from the built one as a template, and the kills are timed by the
progress rows committed so far, read through a connection of the test's own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.dunning import test_kill as kill

pytestmark = pytest.mark.postgres_only


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin(url: str, *sql: str) -> None:
    conn = await asyncpg.connect(_dsn(url, "postgres"))
    try:
        for statement in sql:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def copies(db_url: str) -> Iterator[tuple[str, str]]:
    """The built scenario, twice: (reference, to be killed), as database URLs."""
    asyncio.run(kill._build(db_url))
    source = make_url(db_url).database
    names = [f"abonent_kill_{uuid.uuid4().hex[:8]}_{n}" for n in ("ref", "cut")]
    asyncio.run(_admin(db_url, *(f'CREATE DATABASE "{n}" TEMPLATE "{source}"' for n in names)))
    try:
        yield tuple(  # type: ignore[misc]
            make_url(db_url).set(database=n).render_as_string(hide_password=False) for n in names
        )
    finally:
        asyncio.run(_admin(db_url, *(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names)))


def _committed(url: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(_dsn(url))
        try:
            return int(await conn.fetchval("SELECT count(*) FROM dunning_progress"))
        finally:
            await conn.close()

    return asyncio.run(count())


def test_kill_nine_at_twenty_points_with_two_units_at_a_time(copies: tuple[str, str]) -> None:
    import abonent.cli.main  # noqa: F401 - imported once here, so each forked run starts at once

    ref_url, url = copies
    once = kill._start(ref_url)
    once.join(120)
    assert once.exitcode == 0
    expected = asyncio.run(kill._state(ref_url))
    total = len(expected["progress"])
    assert total > 2000, total

    interrupted, mid_work, seen = kill.kill_at_points(url, total, lambda: _committed(url), 2027)
    assert interrupted >= kill.KILLS - 2, f"only {interrupted} kills hit a running process: {seen}"
    assert seen[-1] <= total
    assert mid_work >= kill.KILLS // 2, seen
    print(f"kills: {interrupted} of {kill.KILLS} hit, {mid_work} in the work; progress {seen}")

    kill.run_to_the_end_and_compare(url, expected)
