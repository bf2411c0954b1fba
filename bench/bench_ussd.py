"""``*100#`` over HTTP (``POST /ussd/callback``) with ONE app worker, against the floor.

The floor is the one ``bench_statement_http.py`` uses: a bare Starlette + asyncpg app reading one
balance row, also with one worker, in the same run on the same scratch PostgreSQL database
(accounts with a SIM and an internet line, a history of cleared charges and payments, a few open
charges each). wrk drives each with 64 connections; every USSD request is a new dialogue (its
own sessionId) from a random subscriber's number, so each one looks the number up, reads the
statement, writes its session row and queues the details SMS, and commits.

Target: req/s(ussd) / req/s(floor) >= 0.5 and p99 <= 50 ms. Last lines: ``ussd_http_p99_ms=<x>``
and ``ussd_http_ratio=<x>``.
Knobs: BENCH_USSD_ACCOUNTS, BENCH_USSD_SECONDS, BENCH_USSD_ROUNDS.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

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

ACCOUNTS = int(os.environ.get("BENCH_USSD_ACCOUNTS", "10000"))
SECONDS = int(os.environ.get("BENCH_USSD_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_USSD_ROUNDS", "2"))
WORKERS = 1
CONNECTIONS = 64
P99_TARGET_MS = 50.0


def _ussd_lua(path: Path, msisdns: list[str]) -> None:
    """POST /ussd/callback: a new session per request, a random subscriber's number."""
    table = ",".join(f'"{urllib.parse.quote(m)}"' for m in msisdns)
    path.write_text(
        f"""
local phones = {{{table}}}
local count = #phones
local counter = 0
local n = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
function request()
  n = n + 1
  local body = "sessionId=b" .. (tid or 0) .. "-" .. os.time() .. "-" .. n ..
    "&serviceCode=%2A100%23&networkCode=25001&text=&phoneNumber=" .. phones[math.random(count)]
  return wrk.format("POST", "/ussd/callback", nil, body)
end
"""
    )


async def _msisdns(url: str) -> list[str]:
    conn = await asyncpg.connect(dsn(url))
    try:
        rows = await conn.fetch("SELECT msisdn FROM services WHERE kind = 'mobile' ORDER BY id")
        return [r[0] for r in rows]
    finally:
        await conn.close()


async def _counts(url: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(dsn(url))
    try:
        return (
            int(await conn.fetchval("SELECT count(*) FROM ussd_sessions")),
            int(await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'sms.send'")),
            int(await conn.fetchval("SELECT count(*) FROM journal_entries")),
        )
    finally:
        await conn.close()


def _check_served(base: str, msisdn: str) -> None:
    body = urllib.parse.urlencode(
        {"sessionId": "check-1", "serviceCode": "*100#", "phoneNumber": msisdn, "text": ""}
    ).encode()
    with urllib.request.urlopen(f"{base}/ussd/callback", data=body, timeout=10) as r:
        text = r.read().decode()
    if not text.startswith("END ") or "ЛС " not in text:
        raise SystemExit(f"the app did not answer *100#: {text!r}")
    say(f"  the app answers *100#: {text[4:].splitlines()[0]!r}")


def _line(name: str, r: WrkResult) -> str:
    return (
        f"{name:10} {r.requests_per_s:10.0f} req/s   p50 {r.p50_ms:6.2f} ms   "
        f"p99 {r.p99_ms:6.2f} ms   ({r.requests} requests, {r.bad} bad)"
    )


def _no_failures(result: WrkResult) -> None:
    if result.bad:
        raise SystemExit(f"{result.bad} requests failed: the figures do not count")


def main() -> None:
    with scratch_database("ussd") as url, tempfile.TemporaryDirectory() as tmp:
        say(f"loading {ACCOUNTS:,} accounts (2 services, 20 paid charges, 3 open charges each)")
        loaded = asyncio.run(load_accounts(url, ACCOUNTS, pairs=20, open_charges=3, seed=9))
        say(f"  {loaded.entries:,} journal entries in {loaded.seconds:.1f} s")
        asyncio.run(verify_ledger(url, loaded.account_ids))
        msisdns = asyncio.run(_msisdns(url))
        app_lua, floor_lua = Path(tmp) / "ussd.lua", Path(tmp) / "floor.lua"
        _ussd_lua(app_lua, msisdns)
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
        entries_before = asyncio.run(_counts(url))[2]
        for round_ in range(1, ROUNDS + 1):
            order = ["floor", "ussd"] if round_ % 2 else ["ussd", "floor"]
            say(f"round {round_}:")
            for name in order:
                if name == "floor":
                    with server(floor_cmd, port=floor_port, env=floor_env) as base:
                        run_wrk(base, floor_lua, connections=CONNECTIONS, seconds=3)
                        floors.append(
                            run_wrk(base, floor_lua, connections=CONNECTIONS, seconds=SECONDS)
                        )
                        _no_failures(floors[-1])
                    say("  " + _line("floor", floors[-1]))
                    continue
                with server(app_cmd, port=app_port, env=app_env) as base:
                    if round_ == 1:
                        _check_served(base, msisdns[0])
                    run_wrk(base, app_lua, connections=CONNECTIONS, seconds=3)
                    apps.append(run_wrk(base, app_lua, connections=CONNECTIONS, seconds=SECONDS))
                    _no_failures(apps[-1])
                say("  " + _line("*100#", apps[-1]))
        sessions, sms, entries = asyncio.run(_counts(url))
        if entries != entries_before:
            raise SystemExit(f"inquiries posted {entries - entries_before} journal entries")
        say(f"  {sessions:,} USSD sessions, {sms:,} details SMS queued, no ledger entry posted")
    floor_rps = sum(r.requests_per_s for r in floors) / len(floors)
    app_rps = sum(r.requests_per_s for r in apps) / len(apps)
    app_p99 = max(r.p99_ms for r in apps)
    say(
        f"\nfloor (Starlette + asyncpg, one balance): {floor_rps:.0f} req/s, "
        f"p99 {max(r.p99_ms for r in floors):.2f} ms"
    )
    say(f"*100# over HTTP (Abonent, session + SMS): {app_rps:.0f} req/s, p99 {app_p99:.2f} ms")
    say(
        f"({WORKERS} uvicorn worker each, wrk {CONNECTIONS} connections x {SECONDS} s, "
        f"{ROUNDS} rounds; p99 target {P99_TARGET_MS:.0f} ms: "
        f"{'met' if app_p99 <= P99_TARGET_MS else 'NOT met'})"
    )
    say(f"ussd_http_p99_ms={app_p99:.2f}")
    say(f"ussd_http_ratio={app_rps / floor_rps:.3f}")


if __name__ == "__main__":
    main()
