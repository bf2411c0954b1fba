"""``dunning run`` over 10k, 100k and 1M accounts, 10 % of them in debt, on PostgreSQL.

Each size gets a scratch database with the default ladder (migration 0013) and accounts made
set-based by ``_common.load_accounts`` (``INSERT … SELECT`` over ``generate_series``): 90 % paid
up, 10 % with two open charges, due 40 and 20 days before the run date. The first night's run
then does, per debtor: the reminder and first notice (superseded), the second notice (one
outbox message for the account, covering both charges), and the suspension of both services
(each for its own charge); 8 progress rows.
A second run on the same date (nothing left to do) is timed too.

Figures: seconds per size, steps done, and the per-account cost at the largest size against the
smallest (target <= 1.2: linear); target <= 60 s at 1M. Last line ``dunning_scale_ratio=<x>``.
Sizes can be lowered for a quick look: BENCH_DUNNING_SIZES=10000,100000.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg

from _common import dsn, load_accounts, say, scratch_database
from abonent.db.uow import Database
from abonent.dunning import service

SIZES = [int(x) for x in os.environ.get("BENCH_DUNNING_SIZES", "10000,100000,1000000").split(",")]
RUN_DATE = dt.date(2026, 12, 1)
DEBT_SHARE = 10


async def _load(url: str, size: int) -> float:
    started = time.perf_counter()
    debtors = size // DEBT_SHARE
    for seed in range(3, 40):
        try:
            await load_accounts(
                url, size - debtors, pairs=0, open_charges=0, seed=seed, today=RUN_DATE
            )
            break
        except asyncpg.UniqueViolationError:
            continue  # a random account number met one loaded before: another draw
    for seed in range(101, 140):
        try:
            await load_accounts(url, debtors, pairs=1, open_charges=2, seed=seed, today=RUN_DATE)
            break
        except asyncpg.UniqueViolationError:
            continue
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute("VACUUM ANALYZE")
        count = await conn.fetchval("SELECT count(*) FROM accounts")
        owing = await conn.fetchval(
            "SELECT count(DISTINCT account_id) FROM open_items"
            " WHERE side = 'debit' AND remaining_minor > 0"
        )
    finally:
        await conn.close()
    assert count == size and owing == debtors, (count, owing)
    return time.perf_counter() - started


async def _run(url: str) -> tuple[service.RunSummary, service.RunSummary]:
    db = Database(url)
    try:
        first = await service.run(db, run_date=RUN_DATE)
        again = await service.run(db, run_date=RUN_DATE)
    finally:
        await db.dispose()
    return first, again


async def _check(url: str, size: int) -> None:
    conn = await asyncpg.connect(dsn(url))
    try:
        progress = await conn.fetchval("SELECT count(*) FROM dunning_progress")
        notices = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'dunning.notice'")
        suspended = await conn.fetchval(
            "SELECT count(*) FROM services WHERE status = 'suspended' AND suspended_reason = 'debt'"
        )
    finally:
        await conn.close()
    debtors = size // DEBT_SHARE
    # One notice per debtor: both charges reach notice_2 in the same run.
    assert (progress, notices, suspended) == (8 * debtors, debtors, 2 * debtors), (
        progress,
        notices,
        suspended,
    )


def main() -> None:
    results: dict[int, float] = {}
    say(
        f"{'accounts':>10}{'debtors':>9}{'load s':>9}{'run s':>9}{'steps':>9}{'µs/acct':>9}"
        f"{'rerun s':>9}"
    )
    for size in SIZES:
        with scratch_database(f"dunning{size}") as url:
            loaded = asyncio.run(_load(url, size))
            first, again = asyncio.run(_run(url))
            asyncio.run(_check(url, size))
        results[size] = first.seconds
        say(
            f"{size:>10,}{size // DEBT_SHARE:>9,}{loaded:>9.1f}{first.seconds:>9.2f}"
            f"{first.done:>9,}{first.seconds / size * 1e6:>9.1f}{again.seconds:>9.2f}"
        )
        assert again.done == 0
    small, big = min(results), max(results)
    ratio = (results[big] / big) / (results[small] / small)
    say(f"per-account cost at {big:,} against {small:,}: {ratio:.3f} (target <= 1.2)")
    say(f"dunning run at {big:,} accounts: {results[big]:.1f} s (target <= 60 s at 1,000,000)")
    if big >= 1_000_000:
        say(f"dunning_1m_s={results[big]:.3f}")
    say(f"dunning_scale_ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
