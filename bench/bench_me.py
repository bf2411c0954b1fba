"""The subscriber's statement over HTTP against the floor: ONE worker each, the same run.

The shape of ``bench_statement_http.py``: one scratch PostgreSQL database with realistic data
(accounts with two services, a history of cleared charges and payments, a few open charges),
real servers in subprocesses, wrk with 64 connections. The app is asked for
``GET /v1/me/accounts/{number}/statement`` with a valid subscriber access token of the
account's holder (one live session per account, a random account per request), so every request
pays the token check and the owner check; the floor is the bare Starlette + asyncpg app of
``bench_statement_http.py`` reading one balance.

Target: req/s(me statement) / req/s(floor) >= 0.5. Last line: ``me_statement_ratio=<x>``.
Knobs: BENCH_ME_ACCOUNTS, BENCH_ME_SESSIONS, BENCH_ME_SECONDS, BENCH_ME_ROUNDS,
BENCH_ME_TIMEOUT (wrk's socket timeout, seconds; 10).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg

from _common import (
    BENCH_DIR,
    WrkResult,
    dsn,
    free_port,
    load_accounts,
    run_wrk,
    say,
    scratch_database,
    server,
    uvicorn_command,
    verify_ledger,
    write_lua,
)

ACCOUNTS = int(os.environ.get("BENCH_ME_ACCOUNTS", "10000"))
SESSIONS = int(os.environ.get("BENCH_ME_SESSIONS", "2000"))
SECONDS = int(os.environ.get("BENCH_ME_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ME_ROUNDS", "2"))
TIMEOUT_S = int(os.environ.get("BENCH_ME_TIMEOUT", "10"))
"""wrk's socket timeout, for both servers: on a busy machine one worker's p99 passes 2 s."""
WORKERS = 1
CONNECTIONS = 64


async def _sessions(url: str, numbers: Sequence[str]) -> list[tuple[str, str]]:
    """One live 'api' session per account holder: (account number, access token).

    Written as the login would write it (sha256 of each token, an hour to live) but in one
    statement: the benchmark measures the reads, not thousands of SMS logins. ``last_seen_at``
    is spread over the last minute, as in steady use: each session's once-a-minute write then
    comes due at its own moment instead of all 2 000 at once a minute after loading."""
    conn = await asyncpg.connect(dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT a.number, a.customer_id FROM accounts a WHERE a.number = ANY($1::text[])",
            list(numbers),
        )
        now = dt.datetime.now(dt.UTC)
        pairs, records = [], []
        rng = random.Random(3)
        for number, customer_id in rows:
            seen = now - dt.timedelta(seconds=rng.uniform(0, 60))
            access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            pairs.append((str(number), access))
            records.append(
                (
                    int(customer_id),
                    f"+79{int(customer_id):09d}"[:12],
                    "api",
                    hashlib.sha256(access.encode()).hexdigest(),
                    now + dt.timedelta(hours=1),
                    hashlib.sha256(refresh.encode()).hexdigest(),
                    now + dt.timedelta(days=30),
                    now,
                    seen,
                )
            )
        await conn.executemany(
            "INSERT INTO subscriber_sessions (customer_id, msisdn, kind, access_hash, "
            "access_expires_at, refresh_hash, expires_at, created_at, last_seen_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            records,
        )
        await conn.execute("ANALYZE subscriber_sessions")
    finally:
        await conn.close()
    return pairs


def _write_token_lua(path: Path, pairs: Sequence[tuple[str, str]]) -> None:
    """A wrk script: each request a random account with its holder's token."""
    numbers = ",".join(f'"{n}"' for n, _ in pairs)
    tokens = ",".join(f'"{t}"' for _, t in pairs)
    path.write_text(
        f"""
local numbers = {{{numbers}}}
local tokens = {{{tokens}}}
local count = #numbers
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(os.time() + (seed or 0) * 7919)
end
function request()
  local i = math.random(count)
  return wrk.format("GET", "/v1/me/accounts/" .. numbers[i] .. "/statement",
                    {{["Authorization"] = "Bearer " .. tokens[i]}})
end
"""
    )


async def _expected_statement(url: str, number: str) -> dict[str, object]:
    from abonent.db.uow import Database
    from abonent.statement.service import statement_by_number

    db = Database(url)
    try:
        async with db.session() as s:
            return (await statement_by_number(s, number)).model_dump(mode="json")
    finally:
        await db.dispose()


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _check_served(base: str, url: str, pairs: Sequence[tuple[str, str]]) -> None:
    (number, token), (other, _) = pairs[0], pairs[1]
    status, served = _get(
        f"{base}/v1/me/accounts/{number}/statement", {"Authorization": f"Bearer {token}"}
    )
    if status != 200 or served != asyncio.run(_expected_statement(url, number)):
        raise SystemExit(f"the app served another statement than the service: {served}")
    status, refused = _get(
        f"{base}/v1/me/accounts/{other}/statement", {"Authorization": f"Bearer {token}"}
    )
    if status != 404:
        raise SystemExit(f"another holder's account was not refused: {status} {refused}")
    say(f"  the app serves the holder's statement ({served['debt_minor']} kopecks of debt)")
    say("  and refuses another holder's account (404)")


def _line(name: str, r: WrkResult) -> str:
    return (
        f"{name:12} {r.requests_per_s:10.0f} req/s   p50 {r.p50_ms:6.2f} ms   "
        f"p99 {r.p99_ms:6.2f} ms   ({r.requests} requests, {r.bad} bad)"
    )


def _no_failures(result: WrkResult) -> None:
    if result.bad:
        raise SystemExit(f"{result.bad} requests failed: the figures do not count")


def main() -> None:
    with scratch_database("me") as url, tempfile.TemporaryDirectory() as tmp:
        say(f"loading {ACCOUNTS:,} accounts (2 services, 20 paid charges, 3 open charges each)")
        loaded = asyncio.run(load_accounts(url, ACCOUNTS, pairs=20, open_charges=3, seed=11))
        say(f"  {loaded.entries:,} journal entries in {loaded.seconds:.1f} s")
        asyncio.run(verify_ledger(url, loaded.account_ids))
        pairs = asyncio.run(_sessions(url, loaded.numbers[:SESSIONS]))
        say(f"  {len(pairs):,} live subscriber sessions, one per account holder")
        app_lua, floor_lua = Path(tmp) / "app.lua", Path(tmp) / "floor.lua"
        _write_token_lua(app_lua, pairs)
        write_lua(floor_lua, loaded.numbers, "/floor/%s", {})
        app_port, floor_port = free_port(), free_port()
        app_cmd = [
            sys.executable,
            "-m",
            "abonent.cli.main",
            "serve",
            "--port",
            str(app_port),
            "--workers",
            str(WORKERS),
        ]
        floor_cmd = [
            *uvicorn_command("bench_statement_http:floor_app", port=floor_port, workers=WORKERS),
            "--app-dir",
            str(BENCH_DIR),
        ]
        app_env = {"ABONENT_DATABASE_URL": url, "ABONENT_ENV": "development"}
        floor_env = {"BENCH_FLOOR_DSN": dsn(url)}
        floors: list[WrkResult] = []
        apps: list[WrkResult] = []
        for round_ in range(1, ROUNDS + 1):
            order = ["floor", "me"] if round_ % 2 else ["me", "floor"]
            say(f"round {round_}:")
            for name in order:
                if name == "floor":
                    with server(floor_cmd, port=floor_port, env=floor_env) as base:
                        run_wrk(
                            base, floor_lua, connections=CONNECTIONS, seconds=3, timeout_s=TIMEOUT_S
                        )
                        floors.append(
                            run_wrk(
                                base,
                                floor_lua,
                                connections=CONNECTIONS,
                                seconds=SECONDS,
                                timeout_s=TIMEOUT_S,
                            )
                        )
                        _no_failures(floors[-1])
                    say("  " + _line("floor", floors[-1]))
                    continue
                with server(app_cmd, port=app_port, env=app_env) as base:
                    if round_ == 1:
                        _check_served(base, url, pairs)
                    run_wrk(base, app_lua, connections=CONNECTIONS, seconds=3, timeout_s=TIMEOUT_S)
                    apps.append(
                        run_wrk(
                            base,
                            app_lua,
                            connections=CONNECTIONS,
                            seconds=SECONDS,
                            timeout_s=TIMEOUT_S,
                        )
                    )
                    _no_failures(apps[-1])
                say("  " + _line("me statement", apps[-1]))
    floor_rps = sum(r.requests_per_s for r in floors) / len(floors)
    app_rps = sum(r.requests_per_s for r in apps) / len(apps)
    say(
        f"\nfloor (Starlette + asyncpg, one balance): {floor_rps:.0f} req/s, "
        f"p50 {max(r.p50_ms for r in floors):.2f} ms, p99 {max(r.p99_ms for r in floors):.2f} ms"
    )
    say(
        f"me statement (Abonent, subscriber token + owner check, full read model): "
        f"{app_rps:.0f} req/s, p50 {max(r.p50_ms for r in apps):.2f} ms, "
        f"p99 {max(r.p99_ms for r in apps):.2f} ms"
    )
    say(f"(1 uvicorn worker each, wrk {CONNECTIONS} connections x {SECONDS} s, {ROUNDS} rounds)")
    say(f"me_statement_ratio={app_rps / floor_rps:.3f}")


if __name__ == "__main__":
    main()
