"""Charges import throughput against floors measured in the same run (``make bench``).

PostgreSQL (``ABONENT_BENCH_POSTGRES_URL``, a scratch database created and dropped here):

- floor: ``COPY`` of the same rows, shaped as open items, into a table of the same shape with a
  primary key only (asyncpg, the client's encoding included);
- the same into a copy of ``open_items`` with its indexes but no foreign keys, and then into
  ``open_items`` itself with its indexes and foreign keys (rolled back): the "schema floor", the
  most any import could do while keeping this schema;
- the import: :func:`abonent.charges.service.import_charges` end to end on the CSV bytes (parse,
  check every line, match accounts and services, write, allocate prepaid money).

SQLite: the same file imported into a scratch file, and an ``executemany`` floor.

The last lines are ``import_schema_ratio=<import ÷ schema floor>`` and
``import_ratio=<import rows/s ÷ floor rows/s>`` (the primary-key-only floor) on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import random
import sqlite3
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

warnings.simplefilter("ignore")
os.environ.setdefault("ABONENT_ENV", "development")

from abonent.accounts import service as accounts  # noqa: E402
from abonent.charges.parser import COLUMNS  # noqa: E402
from abonent.charges.service import import_charges  # noqa: E402
from abonent.db import migrate  # noqa: E402
from abonent.db.uow import Database  # noqa: E402
from abonent.kit.actor import Actor  # noqa: E402
from abonent.ledger.bulk import ITEM_COLUMNS  # noqa: E402
from abonent.ledger.reconcile import reconcile  # noqa: E402
from abonent.models import Account, JournalEntry  # noqa: E402
from abonent.payments.service import PaymentRequest, book_payment  # noqa: E402

PG_URL = os.environ.get(
    "ABONENT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ROWS = int(os.environ.get("ABONENT_BENCH_IMPORT_ROWS", "300000"))
ACCOUNTS = int(os.environ.get("ABONENT_BENCH_IMPORT_ACCOUNTS", "2000"))
PREPAID_SHARE = 0.1
SEED = 20261118
ACTOR = Actor("bench", "admin")


def dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


# --- the same accounts on both databases ---------------------------------------------------


async def make_accounts(db: Database) -> list[tuple[str, str | None]]:
    """ACCOUNTS accounts (90 % with a SIM), a tenth of them with money paid in advance."""
    rng = random.Random(SEED)
    numbers_rng = random.Random(SEED + 1)
    made: list[tuple[str, str | None]] = []
    async with db.session(write=True) as s:
        await accounts.ensure_tariff(
            s, code="B-MOB", name="bench", service_kind="mobile", monthly_fee_minor=50_000
        )
        for n in range(ACCOUNTS):
            customer = await accounts.create_customer(
                s, kind="person", full_name=f"Бенчмарков Абонент {n}", passport=f"45{n:08d}",
                actor=ACTOR,
            )  # fmt: skip
            account = await accounts.open_account(
                s, customer_id=customer.id, actor=ACTOR, rng=numbers_rng
            )
            msisdn = None
            if rng.random() < 0.9:
                msisdn = f"+7916{n:07d}"
                await accounts.add_service(
                    s,
                    account,
                    accounts.ServiceSpec(kind="mobile", msisdn=msisdn, tariff_code="B-MOB"),
                    actor=ACTOR,
                )
            if rng.random() < PREPAID_SHARE:
                await book_payment(
                    s,
                    PaymentRequest(
                        account=account,
                        amount_minor=rng.randint(50_000, 500_000),
                        method="office",
                        source="office",
                        source_txn_id=f"bench-{n}",
                        actor=ACTOR,
                    ),
                )
            made.append((account.number, msisdn))
    return made


def make_file(made: list[tuple[str, str | None]]) -> tuple[bytes, list[tuple[Any, ...]]]:
    """The rating file, and the same rows as plain tuples (for the floors)."""
    rng = random.Random(SEED + 2)
    today = dt.date.today()
    last = today.replace(day=1) - dt.timedelta(days=1)
    period = f"{last:%Y-%m}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = []
    for n in range(ROWS):
        number, msisdn = made[rng.randrange(len(made))]
        if msisdn is None or rng.random() < 0.1:
            service = ""
        elif rng.random() < 0.5:
            service = msisdn
        else:
            service = "8" + msisdn[2:]
        kopecks = rng.randint(1, 99_999)
        kind = "usage" if rng.random() < 0.9 else "one_off"
        charged_on = last.replace(day=rng.randint(1, last.day))
        row = (
            f"rating-{period}-{n:08d}", number, service, f"{kopecks // 100}.{kopecks % 100:02d}",
            kind, period, charged_on.isoformat(), "", "Звонки и интернет",
        )  # fmt: skip
        writer.writerow(row)
        rows.append((number, msisdn if service else None, kopecks, kind, period, charged_on, row))
    return out.getvalue().encode(), rows


def item_records(
    rows: list[tuple[Any, ...]], ids: dict[str, int], services: dict[str, int], entry_id: int
) -> list[tuple[Any, ...]]:
    now = dt.datetime.now(dt.UTC)
    return [
        (
            ids[number],
            services.get(msisdn) if msisdn else None,
            entry_id,
            "debit",
            kind,
            kopecks,
            kopecks,
            "RUB",
            period,
            "Звонки и интернет",
            row[0],
            charged_on,
            charged_on + dt.timedelta(days=15),
            False,
            now,
        )
        for number, msisdn, kopecks, kind, period, charged_on, row in rows
    ]


async def ids_of(db: Database) -> tuple[dict[str, int], dict[str, int], int]:
    from abonent.models import Service

    async with db.session() as s:
        ids = {n: i for n, i in await s.execute(select(Account.number, Account.id))}
        services = {
            m: i for m, i in await s.execute(select(Service.msisdn, Service.id)) if m is not None
        }
        entry_id = await s.scalar(select(func.min(JournalEntry.id)))
    return ids, services, int(entry_id or 0)


# --- PostgreSQL -----------------------------------------------------------------------------


async def postgres() -> tuple[float, float]:
    name = f"abonent_bench_import_{os.getpid()}"
    admin = await asyncpg.connect(dsn(PG_URL))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        db = Database(url)
        started = time.perf_counter()
        made = await make_accounts(db)
        print(f"  {ACCOUNTS:,} accounts made through the services in "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        data, rows = make_file(made)
        ids, services, entry_id = await ids_of(db)
        records = item_records(rows, ids, services, entry_id)

        conn = await asyncpg.connect(dsn(url))
        await conn.execute(
            "CREATE TABLE floor_items (LIKE open_items INCLUDING DEFAULTS);"
            "CREATE SEQUENCE floor_items_id_seq;"
            "ALTER TABLE floor_items ALTER id SET DEFAULT nextval('floor_items_id_seq');"
            "ALTER TABLE floor_items ADD PRIMARY KEY (id);"
            "CHECKPOINT"
        )
        started = time.perf_counter()
        await conn.copy_records_to_table("floor_items", records=records, columns=ITEM_COLUMNS)
        floor = len(records) / (time.perf_counter() - started)

        # The same indexes (LIKE … INCLUDING ALL copies them) but no foreign keys.
        await conn.execute("CREATE TABLE indexed_items (LIKE open_items INCLUDING ALL); CHECKPOINT")
        started = time.perf_counter()
        await conn.copy_records_to_table("indexed_items", records=records, columns=ITEM_COLUMNS)
        indexed = len(records) / (time.perf_counter() - started)

        await conn.execute("CHECKPOINT")
        transaction = conn.transaction()
        await transaction.start()
        started = time.perf_counter()
        await conn.copy_records_to_table("open_items", records=records, columns=ITEM_COLUMNS)
        schema_floor = len(records) / (time.perf_counter() - started)
        await transaction.rollback()
        await conn.execute("CHECKPOINT")
        await conn.close()

        started = time.perf_counter()
        result = await import_charges(db, data, name="bench.csv", actor=ACTOR)
        elapsed = time.perf_counter() - started
        rate = ROWS / elapsed
        async with db.session() as s:
            report = await reconcile(s)
        await db.dispose()
        assert result.imported == ROWS, result
        print(f"  {ROWS:,} charges ({len(data) / 1e6:.1f} MB) on {ACCOUNTS:,} accounts, "
              f"{PREPAID_SHARE:.0%} of them prepaid", flush=True)  # fmt: skip
        figure("floor: COPY into a table shaped like open_items, primary key only", floor)
        figure("the same with open_items' 5 indexes, no foreign keys", indexed)
        figure("schema floor: COPY into open_items (5 indexes, 3 foreign keys)", schema_floor)
        figure(
            f"abonent charges import, end to end ({result.batches} batches)",
            rate,
            f"{elapsed:.1f} s; prepaid money cleared {result.allocated_minor / 100:,.2f} RUB; "
            f"reconcile {'clean' if report.clean else 'DRIFT'}",
        )
        print(f"  ratio to floor {rate / floor:.3f}; to schema floor {rate / schema_floor:.3f}")
        return rate / floor, rate / schema_floor
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# --- SQLite ---------------------------------------------------------------------------------


async def sqlite(directory: Path) -> None:
    path = directory / "bench.db"
    url = f"sqlite:///{path}"
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(url)
    made = await make_accounts(db)
    data, rows = make_file(made)
    ids, services, entry_id = await ids_of(db)
    records = item_records(rows, ids, services, entry_id)

    started = time.perf_counter()
    result = await import_charges(db, data, name="bench.csv", actor=ACTOR)
    rate = ROWS / (time.perf_counter() - started)
    async with db.session() as s:
        clean = (await reconcile(s)).clean
    await db.dispose()
    assert result.imported == ROWS, result

    floor_db = sqlite3.connect(directory / "floor.db", isolation_level=None)
    floor_db.execute("PRAGMA journal_mode=WAL")
    floor_db.execute("PRAGMA synchronous=NORMAL")
    floor_db.execute(
        "CREATE TABLE floor_items (id INTEGER PRIMARY KEY, account_id INTEGER, service_id "
        "INTEGER, entry_id INTEGER, side VARCHAR(6), kind VARCHAR(32), amount_minor BIGINT, "
        "remaining_minor BIGINT, currency VARCHAR(3), period VARCHAR(7), description "
        "VARCHAR(255), external_id VARCHAR(128), charged_on DATE, due_date DATE, disputed "
        "BOOLEAN, created_at DATETIME)"
    )
    plain = [
        (*r[:11], r[11].isoformat(), r[12].isoformat(), 0, r[14].isoformat(" ")) for r in records
    ]
    started = time.perf_counter()
    floor_db.execute("BEGIN")
    floor_db.executemany(
        f"INSERT INTO floor_items ({', '.join(ITEM_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in ITEM_COLUMNS)})",
        plain,
    )
    floor_db.execute("COMMIT")
    floor = len(plain) / (time.perf_counter() - started)
    floor_db.close()
    figure("executemany floor: same shape, primary key only", floor)
    figure(
        "abonent charges import, end to end",
        rate,
        f"ratio {rate / floor:.3f}; reconcile {'clean' if clean else 'DRIFT'}",
    )


def figure(label: str, rows_per_second: float, note: str = "") -> None:
    print(f"  {label:<66}{rows_per_second:>10,.0f} rows/s" + (f"  ({note})" if note else ""))


async def main() -> int:
    print(f"PostgreSQL ({make_url(PG_URL).render_as_string(hide_password=True)})", flush=True)
    ratio, schema_ratio = await postgres()
    print("SQLite", flush=True)
    with tempfile.TemporaryDirectory(prefix="abonent-bench-") as directory:
        await sqlite(Path(directory))
    print(f"import_schema_ratio={schema_ratio:.3f}")
    print(f"import_ratio={ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
