"""What the benchmarks share: a scratch PostgreSQL database, fast realistic data, servers in
subprocesses, wrk, and latency statistics.

Every benchmark creates its own database (``abonent_bench_…``) and drops it at the end, even on
failure; the server database named by ``ABONENT_BENCH_POSTGRES_URL`` is only used to create it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from abonent.db import migrate
from abonent.kit.numbers import generate_account_number

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PG_URL = os.environ.get(
    "ABONENT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
WRK = shutil.which("wrk") or "/usr/bin/wrk"


def say(*parts: object) -> None:
    print(*parts, flush=True)


# --- databases --------------------------------------------------------------------------------


def dsn(url: str) -> str:
    """A URL asyncpg accepts (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(dsn(PG_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def scratch_database(label: str, *, migrated: bool = True) -> Iterator[str]:
    """A fresh database (migrated to head unless told otherwise), dropped afterwards."""
    name = f"abonent_bench_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(PG_URL, name)
    try:
        if migrated:
            migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- realistic data, set-based ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loaded:
    account_ids: list[int]
    numbers: list[str]
    entries: int
    seconds: float


def unique_numbers(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(generate_account_number(rng))
    return sorted(seen, key=lambda _: rng.random())


async def _next_id(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}"))


async def load_accounts(
    url: str,
    count: int,
    *,
    pairs: int,
    open_charges: int,
    seed: int = 7,
    today: dt.date | None = None,
) -> Loaded:
    """``count`` accounts, each with a SIM and an internet line and a history of ``pairs``
    charge+payment pairs (every charge cleared by the payment after it, with its allocation)
    followed by ``open_charges`` unpaid charges, some overdue and some not yet due.

    Everything the ledger keeps in step is kept here too: the postings of each entry sum to
    zero, the balance is minus the subscriber postings, the debt is what remains on open debit
    items, and ``entries_count`` is the number of entries. Written with ``INSERT … SELECT``
    over ``generate_series`` in one transaction; foreign-key triggers are skipped for speed
    (``session_replication_role = replica``), so :func:`verify_ledger` checks the result.
    """
    today = today or dt.date.today()
    numbers = unique_numbers(count, seed)
    per = 2 * pairs + open_charges
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn(url))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            c0 = await _next_id(conn, "customers")
            a0 = await _next_id(conn, "accounts")
            s0 = await _next_id(conn, "services")
            e0 = await _next_id(conn, "journal_entries")
            p0 = await _next_id(conn, "postings")
            o0 = await _next_id(conn, "open_items")
            l0 = await _next_id(conn, "allocations")
            params = {
                "c0": c0,
                "a0": a0,
                "s0": s0,
                "e0": e0,
                "p0": p0,
                "o0": o0,
                "l0": l0,
                "per": per,
                "pairs": pairs,
                "open": open_charges,
            }
            for statement in _LOAD_SQL:
                sql = statement.format(**params)
                if "$1" in sql and "$2" in sql:
                    await conn.execute(sql, numbers, today)
                elif "$1" in sql:
                    await conn.execute(sql, numbers)
                elif "$2" in sql:
                    await conn.execute(sql.replace("$2", "$1"), today)
                else:
                    await conn.execute(sql)
            for table in (
                "customers",
                "accounts",
                "services",
                "journal_entries",
                "postings",
                "open_items",
                "allocations",
            ):
                await conn.execute(
                    f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"
                )
        for table in (
            "accounts",
            "account_balances",
            "services",
            "journal_entries",
            "postings",
            "open_items",
            "allocations",
        ):
            await conn.execute(f"ANALYZE {table}")
    finally:
        await conn.close()
    return Loaded(
        account_ids=[a0 + i + 1 for i in range(count)],
        numbers=numbers,
        entries=count * per,
        seconds=time.perf_counter() - started,
    )


# Placeholders: $1 the account numbers (text[]), $2 today (date). Account i (1-based) has
# customer c0+i, account a0+i, SIM s0+2i-1, internet line s0+2i; its g-th entry (0-based) is
# e0+(i-1)*per+g+1 with open item o0+(i-1)*per+g+1 and postings 2*(that offset)+1 and +2.
_LOAD_SQL = [
    """
    INSERT INTO customers (id, kind, full_name, passport_masked, timezone, created_at)
    SELECT {c0} + i, 'person', 'Абонент ' || i, '45** ***' || lpad((i % 1000)::text, 3, '0'),
           'Europe/Moscow', now() - interval '3 years'
    FROM generate_series(1, cardinality($1::text[])) AS i
    """,
    """
    INSERT INTO accounts (id, number, customer_id, status, currency, credit_limit_minor, opened_at)
    SELECT {a0} + i, num, {c0} + i, 'active', 'RUB',
           CASE WHEN i % 5 = 0 THEN 30000 ELSE 0 END, now() - interval '3 years'
    FROM unnest($1::text[]) WITH ORDINALITY AS t(num, i)
    """,
    """
    INSERT INTO services (id, account_id, kind, label, msisdn, login, status, activated_at)
    SELECT {s0} + 2 * i - 1 + k, {a0} + i,
           CASE k WHEN 0 THEN 'mobile' ELSE 'internet' END,
           CASE k WHEN 0 THEN '+7 9' || lpad(({s0} + i)::text, 9, '0')
                  ELSE 'Интернет: bench' || ({s0} + i) END,
           CASE k WHEN 0 THEN '+79' || lpad(({s0} + i)::text, 9, '0') END,
           CASE k WHEN 1 THEN 'bench' || ({s0} + i) END,
           'active', now() - interval '3 years'
    FROM generate_series(1, cardinality($1::text[])) AS i, generate_series(0, 1) AS k
    """,
    # One row per entry with everything the next statements derive from it.
    """
    CREATE TEMP TABLE bench_plan ON COMMIT DROP AS
    SELECT i, g,
           ({e0} + (i - 1)::bigint * {per} + g + 1) AS entry_id,
           ({a0} + i)::bigint AS account_id,
           ({s0} + 2 * i - 1 + (CASE WHEN g < 2 * {pairs} THEN (g / 2) % 2 ELSE g % 2 END))::bigint
               AS service_id,
           (g >= 2 * {pairs}) AS open,
           (g < 2 * {pairs} AND g % 2 = 1) AS payment,
           CASE WHEN g < 2 * {pairs}
                THEN 10000 + ((g / 2)::bigint * 7919 + i * 31) % 90000
                ELSE 15000 + (g - 2 * {pairs}) * 1000 + i % 100 END::bigint AS amount,
           CASE WHEN g < 2 * {pairs}
                THEN $2::date - 30 - ((2 * {pairs} - g)::bigint * 1095 / (2 * {pairs} + 1))::int
                ELSE $2::date - 40 + (g - 2 * {pairs}) * 20 END AS business_date
    FROM generate_series(1, cardinality($1::text[])) AS i, generate_series(0, {per} - 1) AS g
    """,
    """
    INSERT INTO journal_entries (id, account_id, kind, memo, source, actor, business_date,
                                 created_at)
    SELECT entry_id, account_id,
           CASE WHEN payment THEN 'payment' ELSE 'charge' END,
           CASE WHEN payment THEN 'Платёж' ELSE 'Абонентская плата' END,
           CASE WHEN payment THEN 'bench:pay:' || entry_id END,
           'bench', business_date, business_date::timestamptz
    FROM bench_plan
    """,
    """
    INSERT INTO postings (id, entry_id, account_id, ledger, amount_minor, currency)
    SELECT {p0} + 2 * (entry_id - {e0}) - 1 + leg, entry_id, account_id,
           CASE WHEN payment THEN (CASE leg WHEN 0 THEN 'clearing:bench' ELSE 'subscriber' END)
                ELSE (CASE leg WHEN 0 THEN 'subscriber'
                               ELSE 'revenue:' || CASE WHEN service_id % 2 = ({s0} + 1) % 2
                                                       THEN 'mobile' ELSE 'internet' END END)
           END,
           CASE leg WHEN 0 THEN amount ELSE -amount END, 'RUB'
    FROM bench_plan, generate_series(0, 1) AS leg
    """,
    """
    INSERT INTO open_items (id, account_id, service_id, entry_id, side, kind, amount_minor,
                            remaining_minor, currency, period, description, charged_on,
                            due_date, disputed, created_at, cleared_at)
    SELECT {o0} + (entry_id - {e0}), account_id,
           CASE WHEN payment THEN NULL ELSE service_id END,
           entry_id,
           CASE WHEN payment THEN 'credit' ELSE 'debit' END,
           CASE WHEN payment THEN 'payment' ELSE 'fee' END,
           amount,
           CASE WHEN open THEN amount ELSE 0 END,
           'RUB',
           CASE WHEN payment THEN NULL ELSE to_char(business_date, 'YYYY-MM') END,
           CASE WHEN payment THEN 'Платёж' ELSE 'Абонентская плата' END,
           CASE WHEN payment THEN NULL ELSE business_date END,
           CASE WHEN payment OR open THEN business_date ELSE business_date + 15 END,
           false, business_date::timestamptz,
           CASE WHEN open THEN NULL ELSE business_date::timestamptz + interval '1 day' END
    FROM bench_plan
    """,
    # Charge 2k is cleared by payment 2k+1 of the same amount.
    """
    INSERT INTO allocations (id, account_id, debit_item_id, credit_item_id, amount_minor,
                             entry_id, created_at)
    SELECT {l0} + (i - 1)::bigint * {pairs} + g / 2 + 1, account_id,
           {o0} + (entry_id - {e0}) - 1, {o0} + (entry_id - {e0}), amount, entry_id,
           business_date::timestamptz
    FROM bench_plan WHERE payment
    """,
    """
    INSERT INTO account_balances (account_id, balance_minor, debt_minor, entries_count,
                                  updated_at)
    SELECT account_id, -sum(CASE WHEN open THEN amount ELSE 0 END),
           sum(CASE WHEN open THEN amount ELSE 0 END), count(*), now()
    FROM bench_plan GROUP BY account_id
    """,
]


async def verify_ledger(url: str, account_ids: Sequence[int]) -> None:
    """The loaded accounts keep the ledger's invariants, or the benchmark stops here."""
    ids = list(account_ids)
    checks = {
        "entries whose postings do not sum to zero": """
            SELECT count(*) FROM (SELECT entry_id FROM postings
            WHERE account_id = ANY($1::bigint[]) GROUP BY entry_id
            HAVING sum(amount_minor) <> 0) x""",
        "balances that are not minus the subscriber postings": """
            SELECT count(*) FROM account_balances b
            WHERE b.account_id = ANY($1::bigint[]) AND b.balance_minor <> -(
                SELECT coalesce(sum(amount_minor), 0) FROM postings p
                WHERE p.account_id = b.account_id AND p.ledger = 'subscriber')""",
        "debts that are not what remains on open debit items": """
            SELECT count(*) FROM account_balances b
            WHERE b.account_id = ANY($1::bigint[]) AND b.debt_minor <> (
                SELECT coalesce(sum(remaining_minor), 0) FROM open_items o
                WHERE o.account_id = b.account_id AND o.side = 'debit')""",
        "entry counts that are off": """
            SELECT count(*) FROM account_balances b
            WHERE b.account_id = ANY($1::bigint[]) AND b.entries_count <> (
                SELECT count(*) FROM journal_entries j WHERE j.account_id = b.account_id)""",
        "open items whose allocations do not explain what remains": """
            WITH moved AS (
                SELECT debit_item_id AS id, amount_minor FROM allocations
                WHERE account_id = ANY($1::bigint[])
                UNION ALL
                SELECT credit_item_id, amount_minor FROM allocations
                WHERE account_id = ANY($1::bigint[])),
            per_item AS (SELECT id, sum(amount_minor) AS total FROM moved GROUP BY id)
            SELECT count(*) FROM open_items o LEFT JOIN per_item m ON m.id = o.id
            WHERE o.account_id = ANY($1::bigint[])
              AND o.amount_minor - coalesce(m.total, 0) <> o.remaining_minor""",
    }
    conn = await asyncpg.connect(dsn(url))
    try:
        broken = {what: int(await conn.fetchval(sql, ids)) for what, sql in checks.items()}
    finally:
        await conn.close()
    if any(broken.values()):
        raise SystemExit(f"generated ledger broke its invariants: {broken}")


# --- servers and wrk --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(
    command: Sequence[str],
    *,
    port: int,
    env: dict[str, str] | None = None,
    ready_path: str = "/healthz",
    timeout: float = 60.0,
) -> Iterator[str]:
    """Run ``command`` (a web server on ``port``) in its own process group until done."""
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        list(command),
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise SystemExit(f"server exited early ({proc.returncode}):\n{log.read()[-3000:]}")
            try:
                with urllib.request.urlopen(base + ready_path, timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server on {port} not ready after {timeout:.0f} s")
            time.sleep(0.2)
        try:
            yield base
        except BaseException:
            # Whatever went wrong in the block, the server's own words come first.
            log.flush()
            log.seek(0)
            sys.stderr.write(f"--- server log (port {port}), last lines:\n{log.read()[-4000:]}\n")
            raise
    finally:
        # The group is the one this process created for the server (and its uvicorn workers).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def uvicorn_command(app: str, *, port: int, workers: int, factory: bool = True) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return [*cmd, "--factory"] if factory else cmd


def write_lua(
    path: Path, numbers: Sequence[str], url_template: str, headers: dict[str, str]
) -> None:
    """A wrk script requesting ``url_template % number`` for numbers picked at random."""
    table = ",".join(f'"{n}"' for n in numbers)
    header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    path.write_text(
        f"""
local numbers = {{{table}}}
local count = #numbers
{header_lines}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(os.time() + (seed or 0) * 7919)
end
function request()
  return wrk.format("GET", string.format("{url_template}", numbers[math.random(count)]))
end
"""
    )


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int
    """Non-2xx answers plus socket errors: must be 0 for the figure to mean anything."""


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"not a wrk latency: {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def run_wrk(
    base: str,
    script: Path,
    *,
    connections: int = 64,
    threads: int = 2,
    seconds: int = 10,
    timeout_s: int | None = None,
) -> WrkResult:
    """``timeout_s``: wrk's socket timeout (its default, 2 s, counts a slower answer as bad)."""
    out = subprocess.run(
        [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            *([f"--timeout={timeout_s}s"] if timeout_s else []),
            "--latency",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    bad = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        bad += int(m[1])
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        bad += sum(int(x) for x in m.groups())
    return WrkResult(rps, p50, p99, requests, bad)


# --- statistics -------------------------------------------------------------------------------


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def percentile_ms(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
