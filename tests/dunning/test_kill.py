"""``kill -9`` of ``abonent dunning run`` at 20 random moments, then a run to the end: the final
state equals that of one uninterrupted run on a copy of the same database.

The interrupted runs are the CLI's own entry point (``abonent.cli.main.app``) in processes
forked from a parent that imported it once, so that each run starts at once and the kills land
in the work rather than in Python's imports; the last run, to completion, is the installed
``abonent`` command itself. Each kill waits for none, one or two more batches to be committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from abonent.collections import service as collections
from abonent.db.uow import Database
from abonent.dunning import ladder
from abonent.dunning import service as dunning
from abonent.models import (
    AssignmentItem,
    AuditEvent,
    CollectionAssignment,
    DunningItem,
    DunningProgress,
    OutboxMessage,
    Service,
    ServiceStatusChange,
    WriteOffRequest,
)
from tests.dunning.helpers import ADMIN, LADDER
from tests.factories import charge, make_account

ACCOUNTS = 320
RUN_DATE = dt.date(2026, 12, 1)
BATCH = "8"
KILLS = 20
ABONENT = Path(sys.executable).with_name("abonent")


async def _build(url: str) -> None:
    db = Database(url)
    rng = random.Random(12)
    try:
        async with db.session(write=True) as s:
            await dunning.load_ladder(s, ladder.read(LADDER, "t.toml"), source="t", actor=ADMIN)
            await collections.add_agency(s, name="ООО «Возврат»", inn="7707083893", actor=ADMIN)
            for _ in range(ACCOUNTS):
                account, services = await make_account(s, kinds=("mobile", "internet"))
                for _ in range(rng.choice((1, 2, 3, 4))):
                    days = rng.choice((-2, 1, 5, 11, 11, 25, 25, 35, 35, 70, 130, 400))
                    service = rng.choice(services)
                    await charge(
                        s,
                        account,
                        rng.randrange(1_000, 90_000),
                        due=RUN_DATE - dt.timedelta(days=days),
                        service=service,
                    )
    finally:
        await db.dispose()


async def _state(url: str) -> dict[str, Any]:
    """Everything the run writes, by natural keys (ids of new rows may differ between runs)."""
    db = Database(url)
    try:
        async with db.session() as s:
            progress = sorted(
                tuple(r)
                for r in await s.execute(
                    select(
                        DunningProgress.open_item_id,
                        DunningProgress.step,
                        DunningProgress.outcome,
                        DunningProgress.ladder_id,
                        DunningProgress.run_date,
                    )
                )
            )
            items = sorted(
                tuple(r)
                for r in await s.execute(
                    select(DunningItem.open_item_id, DunningItem.ladder_id, DunningItem.started_on)
                )
            )
            outbox = sorted(
                (t, a, k or "", json.dumps(p, sort_keys=True))
                for t, a, k, p in await s.execute(
                    select(
                        OutboxMessage.topic,
                        OutboxMessage.account_id,
                        OutboxMessage.dedupe_key,
                        OutboxMessage.payload,
                    )
                )
                if t != "collections.notice"
            )
            # The agency notice names its assignment by id: compare the rest.
            agency_notices = sorted(
                a
                for (a,) in await s.execute(
                    select(OutboxMessage.account_id).where(
                        OutboxMessage.topic == "collections.notice"
                    )
                )
            )
            services = sorted(
                tuple(r)
                for r in await s.execute(
                    select(Service.id, Service.status, Service.suspended_reason)
                )
            )
            changes = sorted(
                tuple(r)
                for r in await s.execute(
                    select(ServiceStatusChange.service_id, ServiceStatusChange.to_status)
                )
            )
            assigned = sorted(
                tuple(r)
                for r in await s.execute(
                    select(
                        CollectionAssignment.account_id,
                        AssignmentItem.open_item_id,
                        AssignmentItem.amount_minor,
                    ).join(AssignmentItem, AssignmentItem.assignment_id == CollectionAssignment.id)
                )
            )
            write_offs = sorted(
                tuple(r)
                for r in await s.execute(
                    select(WriteOffRequest.account_id, WriteOffRequest.amount_minor)
                )
            )
            audit = sorted(
                tuple(r)
                for r in await s.execute(
                    select(AuditEvent.action, AuditEvent.account_id).where(
                        AuditEvent.actor == dunning.DUNNING_ACTOR.name
                    )
                )
            )
    finally:
        await db.dispose()
    return {
        "progress": progress,
        "items": items,
        "outbox": outbox,
        "agency_notices": agency_notices,
        "services": services,
        "changes": changes,
        "assigned": assigned,
        "write_offs": write_offs,
        "audit": audit,
    }


def _count_progress(url: str) -> int:
    return len(asyncio.run(_state(url))["progress"])


def _committed(path: Path) -> int:
    """Progress rows committed so far, read beside the running process (WAL lets both)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as c:
        (count,) = c.execute("SELECT count(*) FROM dunning_progress").fetchone()
    return int(count)


def _child(url: str) -> None:
    os.environ["ABONENT_DATABASE_URL"] = url
    from abonent.cli.main import app

    try:
        app(["dunning", "run", "--date", RUN_DATE.isoformat(), "--batch", BATCH])
    except SystemExit as exc:
        os._exit(int(exc.code or 0))
    os._exit(0)


def _start(url: str) -> multiprocessing.process.BaseProcess:
    process = multiprocessing.get_context("fork").Process(target=_child, args=(url,))
    process.start()
    return process


def kill_at_points(
    url: str, total: int, committed: Callable[[], int], seed: int
) -> tuple[int, int, list[int]]:
    """Start the run on ``url`` and ``kill -9`` it :data:`KILLS` times: (kills that hit a
    running process, of those the ones cut off in the work, progress rows after each)."""
    rng = random.Random(seed)
    interrupted = mid_work = 0
    seen = [0]
    for _ in range(KILLS):
        # Each kill lands none, one or two commits further on (a batch of 8 accounts is about 74
        # progress rows, some 40 batches in all), up to 50 ms into the batch after. Timed sleeps
        # ran out of work after nine to fifteen kills: the run's pace is neither even over its
        # batches nor the same on two machines.
        process = _start(url)
        commits, last = rng.choice((0, 1, 1, 2)), seen[-1]
        deadline = time.monotonic() + 60
        while commits and process.is_alive() and time.monotonic() < deadline:
            now = committed()
            if now != last:
                commits, last = commits - 1, now
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.05))
        alive = process.is_alive()
        if alive:
            interrupted += 1
            os.kill(process.pid or 0, signal.SIGKILL)
        process.join(60)
        seen.append(_count_progress(url))
        # Killed after some batches committed and before the last: cut off in the work.
        mid_work += alive and seen[-2] < seen[-1] < total
    return interrupted, mid_work, seen


def run_to_the_end_and_compare(url: str, expected: dict[str, Any]) -> None:
    """The installed command runs to the end: the state is ``expected``; once more, nothing."""
    final = _cli(url)
    assert final.returncode == 0, final.stderr
    assert asyncio.run(_state(url)) == expected
    # And once more: nothing is done twice.
    again = _cli(url)
    assert again.returncode == 0 and " 0 steps done" in again.stdout
    assert asyncio.run(_state(url)) == expected


def _cli(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ABONENT_DATABASE_URL": url}
    return subprocess.run(
        [str(ABONENT), "dunning", "run", "--date", RUN_DATE.isoformat(), "--batch", BATCH],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def built(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "pristine.db"
    shutil.copyfile(sqlite_template, path)
    asyncio.run(_build(f"sqlite:///{path}"))
    return path


def test_kill_nine_at_twenty_points_then_rerun_equals_one_run(built: Path, tmp_path: Path) -> None:
    import abonent.cli.main  # noqa: F401 - imported once here, so each forked run starts at once

    reference = tmp_path / "reference.db"
    killed = tmp_path / "killed.db"
    shutil.copyfile(built, reference)
    shutil.copyfile(built, killed)
    ref_url, url = f"sqlite:///{reference}", f"sqlite:///{killed}"

    started = time.monotonic()
    once = _start(ref_url)
    once.join(120)
    work = time.monotonic() - started
    assert once.exitcode == 0
    expected = asyncio.run(_state(ref_url))
    total = len(expected["progress"])
    assert total > 2000, total
    # A run with nothing left to do: how long the walk over the done batches takes.
    started = time.monotonic()
    idle = _start(ref_url)
    idle.join(120)
    walk = time.monotonic() - started
    assert idle.exitcode == 0 and asyncio.run(_state(ref_url)) == expected
    assert {o for _, _, o, _, _ in expected["progress"]} >= {
        "notified",
        "superseded",
        "suspended",
        "handed_over",
        "court_ready",
        "write_off_proposed",
    }

    interrupted, mid_work, seen = kill_at_points(url, total, lambda: _committed(killed), 2026)
    assert interrupted >= KILLS - 2, f"only {interrupted} kills hit a running process: {seen}"
    assert seen[-1] <= total
    # Killed mid-way, at different points: the progress kept growing between kills.
    assert mid_work >= KILLS // 2, (work, walk, seen)
    print(f"work {work:.2f} s, idle walk {walk:.2f} s")
    print(
        f"kills: {interrupted} of {KILLS} hit a running process, {mid_work} in the work;"
        f" progress rows {seen} of {total}"
    )

    run_to_the_end_and_compare(url, expected)
