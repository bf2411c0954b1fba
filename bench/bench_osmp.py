"""OSMP ``pay`` throughput end to end, against pgbench's tpcb-like rate in the same run.

The real app is served by uvicorn in a subprocess on a scratch PostgreSQL database (durable
commits: the server's default ``synchronous_commit``), holding a few thousand accounts with
history and open debt. wrk drives ``command=pay`` with a distinct txn_id on every request, from
concurrent connections, to accounts picked at random; a Lua hook counts the answers whose
``<result>`` is 0, and the database is checked afterwards: exactly that many payments booked,
and the ledger reconciles. The floor is pgbench's tpcb-like transaction rate (``pgbench -T 10
-c <connections> -j 2``, durable commits) in its own scratch database, measured before and after
the OSMP run; their mean is the floor.

The accounts are a mix like the demo's (``abonent demo load --seed 7``: of its 298 accounts 16%
in credit, 9% with services suspended for debt, 4% closed still owing, 4% settled, the rest in
debt, half of all on several services). Of the bench's accounts, by ``index % 100``:

====== ======================================================================================
0–3    closed with debt (4%): paid 1–3 ₽ at a time, so that no payment exceeds what is owed
4–12   suspended for debt (9%): the SIM, whose oldest charge is 40 days overdue, is suspended;
       a payment that clears that charge restores it (audit row, ``service.restored`` event)
13–28  in credit (16%): all debt paid and up to 500 ₽ more, so an open credit waits
29–32  settled (4%): all debt paid, nothing open
33–99  in debt on several services (67%): the SIM and the internet line both owe (the demo's
       one-service debtors are folded in here: they take the same path)
====== ======================================================================================

The mix is made through the application's own services (book_payment, change_service_status,
change_account_status), so its rows are what production would hold.

Both sides get the same client concurrency (wrk's connections are pgbench's clients) and neither
queues on one hot row: the payments go to 2,000 accounts, and pgbench is initialised with a scale
factor equal to its clients, as its documentation asks ("else you'll mostly be measuring update
contention"). At scale 1 every tpcb-like transaction updates the one branch row, and the floor
then falls as clients are added (here ~2,000 tps with 8 clients, ~1,650 with 16), which would
flatter the ratio rather than measure the machine.

Target: osmp_pay / pgbench_tpcb >= 0.3 and p99 <= 100 ms. Last lines: ``osmp_pay_p99_ms=<x>``
and ``osmp_pay_ratio=<x>``.
Knobs: BENCH_OSMP_ACCOUNTS (2000), BENCH_OSMP_SECONDS (10), BENCH_OSMP_CONNECTIONS (16),
BENCH_OSMP_WORKERS (uvicorn processes, 2).
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
from sqlalchemy import func, select

from _common import (
    dsn,
    free_port,
    load_accounts,
    say,
    scratch_database,
    server,
    uvicorn_command,
    verify_ledger,
)
from abonent.accounts import service as accounts
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.ledger.reconcile import reconcile
from abonent.models import Account, AccountBalance, Payment, Service
from abonent.payments import service as payments
from abonent.payments.agents import service as agents

ACCOUNTS = int(os.environ.get("BENCH_OSMP_ACCOUNTS", "2000"))
SECONDS = int(os.environ.get("BENCH_OSMP_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_OSMP_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_OSMP_WORKERS", "2"))
PGBENCH = shutil.which("pgbench") or "/usr/bin/pgbench"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
AGENT, PASSWORD = "BENCH", "bench-password-1"

# Every request books a new payment: txn_id = run base + thread * 10^9 + per-thread counter.
# response() reads the <result> of each answer; done() adds up what the threads saw.
_LUA = """
local numbers = {%(numbers)s}
local closed = {%(closed)s}
local count = #numbers
local threads = {}
local next_id = 0
wrk.headers["Authorization"] = "%(authorization)s"
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end
function init(args)
  base = tonumber(args[1])
  math.randomseed(base + tid * 7919)
  counter = 0
  ok = 0
  refused = 0
end
function request()
  counter = counter + 1
  local txn = base + tid * 1000000000 + counter
  local number = numbers[math.random(count)]
  local kopecks = math.random(100, 50000)
  if closed[number] then kopecks = math.random(100, 300) end
  local path = string.format(
    "/agents/osmp/%(agent)s?command=pay&txn_id=%%d&account=%%s&sum=%%d.%%02d&txn_date=20261118150000",
    txn, number, math.floor(kopecks / 100), kopecks %% 100)
  return wrk.format("GET", path)
end
function response(status, headers, body)
  if status == 200 and string.find(body, "<result>0</result>", 1, true) then
    ok = ok + 1
  else
    refused = refused + 1
  end
end
function done(summary, latency, requests)
  local total_ok, total_refused = 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_refused = total_refused + thread:get("refused")
  end
  io.write(string.format("osmp_ok=%%d osmp_refused=%%d\\n", total_ok, total_refused))
end
"""


@dataclass(frozen=True, slots=True)
class WrkRun:
    requests_per_s: float
    ok_per_s: float
    ok: int
    refused: int
    socket_errors: int
    p50_ms: float
    p99_ms: float


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(base_url: str, script: Path, txn_base: int, seconds: int) -> WrkRun:
    out = subprocess.run(
        # An agent waits 60 s for an answer; a slower one is a refusal here, not a lost request.
        [
            WRK,
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(script),
            base_url,
            "--",
            str(txn_base),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out)[1])  # type: ignore[index]
    duration = float(re.search(r"requests in ([0-9.]+)s", out)[1])  # type: ignore[index]
    ok, refused = (int(x) for x in re.search(r"osmp_ok=(\d+) osmp_refused=(\d+)", out).groups())  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors = sum(int(x) for x in m.groups())
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
    return WrkRun(rps, ok / duration, ok, refused, errors, p50, p99)


def pgbench_tps() -> float:
    with scratch_database("pgbench", migrated=False) as url:
        target = dsn(url)
        subprocess.run(
            [PGBENCH, "-i", "-q", "-s", str(CONNECTIONS), target], check=True, capture_output=True
        )
        out = subprocess.run(
            [PGBENCH, "-T", "10", "-c", str(CONNECTIONS), "-j", "2", target],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)[1])  # type: ignore[index]


@dataclass(frozen=True, slots=True)
class Mix:
    numbers: list[str]
    closed: list[str]
    groups: dict[str, int]
    entries: int


def _group(index: int) -> str:
    """The account's part of the mix (the table in the module docstring)."""
    bucket = index % 100
    if bucket < 4:
        return "closed with debt"
    if bucket < 13:
        return "suspended for debt"
    if bucket < 29:
        return "in credit"
    if bucket < 33:
        return "settled"
    return "in debt on several services"


async def _make_mix(url: str, account_ids: list[int]) -> dict[str, int]:
    db = Database(url)
    clerk = Actor("bench:clerk", "admin")
    groups: dict[str, int] = {}
    try:
        for index, account_id in enumerate(account_ids):
            group = _group(index)
            groups[group] = groups.get(group, 0) + 1
            if group == "in debt on several services":
                continue
            async with db.session(write=True) as s:
                account = await s.get(Account, account_id)
                assert account is not None
                if group == "closed with debt":
                    await accounts.change_account_status(
                        s, account, "closed", actor=clerk, reason="bench: moved away"
                    )
                elif group == "suspended for debt":
                    sim = await s.scalar(
                        select(Service).where(
                            Service.account_id == account_id, Service.kind == "mobile"
                        )
                    )
                    assert sim is not None
                    await accounts.change_service_status(
                        s,
                        sim,
                        "suspended",
                        actor=clerk,
                        reason="bench: overdue",
                        suspended_reason="debt",
                    )
                else:
                    balance = await s.get(AccountBalance, account_id)
                    assert balance is not None
                    extra = 10_000 + index * 397 % 40_000 if group == "in credit" else 0
                    await payments.book_payment(
                        s,
                        payments.PaymentRequest(
                            account=account,
                            amount_minor=balance.debt_minor + extra,
                            method="office",
                            source="office",
                            source_txn_id=f"bench-mix-{account_id}",
                            actor=clerk,
                        ),
                    )
    finally:
        await db.dispose()
    return groups


async def _prepare(url: str) -> None:
    db = Database(url)
    try:
        async with db.session(write=True) as s:
            await agents.create_agent(
                s,
                code=AGENT,
                password=PASSWORD,
                allowed_ips=["127.0.0.1"],
                actor=Actor("bench", "admin"),
                min_sum_minor=100,
                max_sum_minor=1_500_000,
            )
    finally:
        await db.dispose()


def prepare_mix(url: str) -> Mix:
    """The accounts of the mix, checked, and the agent that pays into them."""
    loaded = asyncio.run(load_accounts(url, ACCOUNTS, pairs=3, open_charges=3, seed=17))
    groups = asyncio.run(_make_mix(url, loaded.account_ids))
    asyncio.run(verify_ledger(url, loaded.account_ids))
    asyncio.run(_prepare(url))
    closed = [n for i, n in enumerate(loaded.numbers) if _group(i) == "closed with debt"]
    return Mix(loaded.numbers, closed, groups, loaded.entries)


def lua_script(mix: Mix) -> str:
    token = base64.b64encode(f"{AGENT}:{PASSWORD}".encode()).decode()
    return _LUA % {
        "numbers": ",".join(f'"{n}"' for n in mix.numbers),
        "closed": ",".join(f'["{n}"]=true' for n in mix.closed),
        "authorization": f"Basic {token}",
        "agent": AGENT,
    }


async def _restorations(url: str) -> int:
    conn = await asyncpg.connect(dsn(url))
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'service.restored'")
        )
    finally:
        await conn.close()


async def _check(url: str, answered: int) -> tuple[int, bool]:
    """Booked payments against the answers wrk counted. When wrk stops, the requests still in
    flight on each connection are completed and booked by the server, but their answers are
    never read: at most one per connection per wrk run can be booked without being counted."""
    db = Database(url)
    try:
        async with db.session() as s:
            booked = int(
                await s.scalar(
                    select(func.count())
                    .select_from(Payment)
                    .where(Payment.source == f"osmp:{AGENT}")
                )
                or 0
            )
            report = await reconcile(s)
    finally:
        await db.dispose()
    return booked, report.clean and answered <= booked <= answered + 2 * CONNECTIONS


async def _settings(url: str) -> str:
    conn = await asyncpg.connect(dsn(url))
    try:
        return str(await conn.fetchval("SHOW synchronous_commit"))
    finally:
        await conn.close()


def osmp_run() -> WrkRun:
    with scratch_database("osmp") as url:
        mix = prepare_mix(url)
        say(
            f"  {ACCOUNTS:,} accounts, {mix.entries:,} entries; "
            f"synchronous_commit={asyncio.run(_settings(url))}"
        )
        say("  mix: " + ", ".join(f"{group} {n:,}" for group, n in mix.groups.items()))
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "osmp_pay.lua"
            script.write_text(lua_script(mix))
            env = {"ABONENT_DATABASE_URL": url, "ABONENT_ENV": "development"}
            command = uvicorn_command("abonent.app:create_app", port=port, workers=WORKERS)
            with server(command, port=port, env=env) as base_url:
                # Warm-up: every worker verifies the password once and prepares its statements.
                warm = run_wrk(base_url, script, 10**12, 5)
                run = run_wrk(base_url, script, 2 * 10**12, SECONDS)
        booked, consistent = asyncio.run(_check(url, warm.ok + run.ok))
        restored = asyncio.run(_restorations(url))
    say(f"  warm-up: {warm.ok:,} booked, {warm.refused} refused")
    say(
        f"  booked in the database: {booked:,} (answers with result 0: {warm.ok + run.ok:,}, "
        f"the rest were in flight when wrk stopped); consistent: {'yes' if consistent else 'NO'}; "
        f"services restored by payments: {restored}"
    )
    if run.refused or run.socket_errors or warm.refused or not consistent:
        raise SystemExit(
            f"the run is not clean: refused={run.refused} socket errors={run.socket_errors} "
            f"consistent={consistent}"
        )
    return run


def main() -> None:
    say(f"pgbench tpcb-like (-s {CONNECTIONS} -c {CONNECTIONS} -j 2 -T 10), before:")
    before = pgbench_tps()
    say(f"  {before:,.0f} tps")
    say(f"OSMP pay through uvicorn ({WORKERS} workers), wrk -t2 -c{CONNECTIONS} -d{SECONDS}s:")
    run = osmp_run()
    say(f"  {run.ok_per_s:,.0f} payments/s (p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms)")
    say("pgbench tpcb-like, after:")
    after = pgbench_tps()
    say(f"  {after:,.0f} tps")
    floor = (before + after) / 2
    ratio = run.ok_per_s / floor
    say(f"\nosmp pay {run.ok_per_s:,.0f}/s, p99 {run.p99_ms:.1f} ms (target <= 100 ms)")
    say(
        f"osmp pay {run.ok_per_s:,.0f}/s vs pgbench tpcb-like {floor:,.0f} tps "
        f"(mean of {before:,.0f} and {after:,.0f}): ratio {ratio:.3f} (target >= 0.3)"
    )
    say(f"osmp_pay_p99_ms={run.p99_ms:.1f}")
    say(f"osmp_pay_ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
