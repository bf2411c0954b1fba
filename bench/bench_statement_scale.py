"""Statement latency does not grow with history: 10 thousand ledger entries vs 1 million.

Two accounts in one scratch PostgreSQL database, the same six open charges each, one with a
history of ~10k journal entries and one with ~1M (cleared charges and the payments that cleared
them, with their postings, open items and allocations). The statement is read many times for
each, alternating, through the service every channel uses; the medians are compared.

Target: median(1M) / median(10k) <= 1.2. Last line: ``statement_scale_ratio=<x>``.
Sizes can be lowered for a quick look: BENCH_SCALE_SMALL, BENCH_SCALE_BIG, BENCH_SCALE_CALLS.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    load_accounts,
    median_ms,
    percentile_ms,
    say,
    scratch_database,
    verify_ledger,
)
from abonent.db.uow import Database
from abonent.ledger.reconcile import reconcile
from abonent.statement import history
from abonent.statement.reader import read_statement
from abonent.statement.service import statement_by_number

SMALL = int(os.environ.get("BENCH_SCALE_SMALL", "10000"))
BIG = int(os.environ.get("BENCH_SCALE_BIG", "1000000"))
CALLS = int(os.environ.get("BENCH_SCALE_CALLS", "3000"))
OPEN = 6


async def _vacuum(url: str) -> None:
    import asyncpg

    from _common import dsn

    conn = await asyncpg.connect(dsn(url))
    try:
        # As autovacuum would by then: fresh statistics and a visibility map.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def measure(url: str, small: str, big: str) -> dict[str, dict[str, list[float]]]:
    db = Database(url)
    samples: dict[str, dict[str, list[float]]] = {
        "statement": {small: [], big: []},
        "statement, service": {small: [], big: []},
        "entries page": {small: [], big: []},
        "open items": {small: [], big: []},
    }
    try:
        async with db.session() as s:
            report = await reconcile(s)
        if not report.clean:
            raise SystemExit(f"reconcile found drift in the generated data: {report}")
        ids = {}
        async with db.session() as s:
            for number in (small, big):
                st = await statement_by_number(s, number)
                assert st.debt_minor > 0 and len(st.debt_by_service) == 2, st
                from abonent.accounts.service import get_account

                ids[number] = (await get_account(s, number)).id

        async def statement(number: str) -> None:
            await read_statement(db.engine, number)

        async def statement_service(number: str) -> None:
            async with db.session() as s:
                await statement_by_number(s, number)

        async def entries(number: str) -> None:
            async with db.session() as s:
                page = await history.entries_page(s, ids[number], before_id=None, limit=50)
                assert len(page) == 50

        async def open_items(number: str) -> None:
            async with db.session() as s:
                items = await history.open_items_page(
                    s, ids[number], only_open=True, after_id=None, limit=50
                )
                assert len(items) == OPEN

        for name, call in (
            ("statement", statement),
            ("statement, service", statement_service),
            ("entries page", entries),
            ("open items", open_items),
        ):
            calls = CALLS if name.startswith("statement") else CALLS // 3
            for _ in range(200):  # warm the pool, the plan caches, the buffers
                await call(small)
                await call(big)
            for i in range(calls):
                # Alternate which goes first so that neither always follows the other.
                order = (small, big) if i % 2 == 0 else (big, small)
                for number in order:
                    t0 = time.perf_counter()
                    await call(number)
                    samples[name][number].append(time.perf_counter() - t0)
    finally:
        await db.dispose()
    return samples


def _size(entries: int) -> str:
    return f"{entries // 1_000_000}M" if entries >= 1_000_000 else f"{entries // 1000}k"


def main() -> None:
    with scratch_database("scale") as url:
        say(f"loading: one account with ~{SMALL:,} entries, one with ~{BIG:,}")
        background = load_accounts(url, 2000, pairs=20, open_charges=3, seed=11)
        loaded = asyncio.run(background)
        say(f"  background: 2,000 accounts, {loaded.entries:,} entries ({loaded.seconds:.1f} s)")
        small = asyncio.run(
            load_accounts(url, 1, pairs=(SMALL - OPEN) // 2, open_charges=OPEN, seed=1)
        )
        say(f"  small: {small.entries:,} entries ({small.seconds:.1f} s)")
        big = asyncio.run(load_accounts(url, 1, pairs=(BIG - OPEN) // 2, open_charges=OPEN, seed=2))
        say(f"  big:   {big.entries:,} entries ({big.seconds:.1f} s)")
        asyncio.run(verify_ledger(url, small.account_ids + big.account_ids))
        asyncio.run(_vacuum(url))
        s_num, b_num = small.numbers[0], big.numbers[0]
        samples = asyncio.run(measure(url, s_num, b_num))
    a, b = _size(small.entries), _size(big.entries)
    head = f"{'median ' + a:>12}{'median ' + b:>12}{'p99 ' + a:>10}{'p99 ' + b:>10}"
    say(f"\n{'':20}{head}{'ratio':>8}")
    ratio = 0.0
    for name, by in samples.items():
        med_s, med_b = median_ms(by[s_num]), median_ms(by[b_num])
        p99_s, p99_b = percentile_ms(by[s_num], 0.99), percentile_ms(by[b_num], 0.99)
        say(
            f"{name:20}{med_s:10.3f}ms{med_b:10.3f}ms{p99_s:8.2f}ms{p99_b:8.2f}ms"
            f"{med_b / med_s:8.3f}"
        )
        if name.startswith("statement"):
            # The worse of the two ways the statement is read (the API's, the service's).
            ratio = max(ratio, med_b / med_s)
    say(
        f"(statement: {len(samples['statement'][s_num])} calls of each account, as the API reads"
        " it (one query on a pooled connection) and through the service in a unit of work)"
    )
    say(f"statement_scale_ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
