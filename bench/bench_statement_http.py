"""The statement over HTTP against a floor: a bare Starlette + asyncpg app reading one balance.

Both run as real servers in subprocesses (uvicorn, the same number of workers) on one scratch
PostgreSQL database holding realistic data (accounts with two services, a history of cleared
charges and payments, a few open charges each). wrk drives each with 64 connections for about
ten seconds, asking for random account numbers; the real app is asked for
``GET /v1/accounts/{number}/statement`` with an API key, the floor for one balance row.

Target: req/s(statement) / req/s(floor) >= 0.5. Last line: ``statement_http_ratio=<x>``.
Knobs: BENCH_HTTP_ACCOUNTS, BENCH_HTTP_SECONDS, BENCH_HTTP_WORKERS, BENCH_HTTP_ROUNDS.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

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

ACCOUNTS = int(os.environ.get("BENCH_HTTP_ACCOUNTS", "10000"))
SECONDS = int(os.environ.get("BENCH_HTTP_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_HTTP_WORKERS", "2"))
ROUNDS = int(os.environ.get("BENCH_HTTP_ROUNDS", "2"))
CONNECTIONS = 64


# --- the floor: as little as an HTTP endpoint reading one balance can be ----------------------


def floor_app():  # type: ignore[no-untyped-def]
    """uvicorn factory (``bench_statement_http:floor_app``); DSN from BENCH_FLOOR_DSN."""
    import asyncpg
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    pool: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        pool["p"] = await asyncpg.create_pool(
            os.environ["BENCH_FLOOR_DSN"], min_size=10, max_size=20
        )
        yield
        await pool["p"].close()

    async def balance(request: Request) -> JSONResponse:
        row = await pool["p"].fetchrow(
            "SELECT b.balance_minor FROM account_balances b "
            "JOIN accounts a ON a.id = b.account_id WHERE a.number = $1",
            request.path_params["number"],
        )
        if row is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse({"balance_minor": row[0], "currency": "RUB"})

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/floor/{number}", balance), Route("/healthz", healthz)],
        lifespan=lifespan,
    )


# --- the run ----------------------------------------------------------------------------------


async def _api_key(url: str) -> str:
    from abonent.apikeys import service as apikeys
    from abonent.db.uow import Database
    from abonent.kit.actor import Actor

    db = Database(url)
    try:
        async with db.session(write=True) as s:
            _key, plain = await apikeys.create(
                s, name="bench", role="integration", actor=Actor("bench", "admin")
            )
        return plain
    finally:
        await db.dispose()


async def _expected_statement(url: str, number: str) -> dict[str, object]:
    from abonent.db.uow import Database
    from abonent.statement.service import statement_by_number

    db = Database(url)
    try:
        async with db.session() as s:
            return (await statement_by_number(s, number)).model_dump(mode="json")
    finally:
        await db.dispose()


def _get_json(url: str, headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as r:
        body: dict[str, object] = json.loads(r.read())
        return body


def _line(name: str, r: WrkResult) -> str:
    return (
        f"{name:10} {r.requests_per_s:10.0f} req/s   p50 {r.p50_ms:6.2f} ms   "
        f"p99 {r.p99_ms:6.2f} ms   ({r.requests} requests, {r.bad} bad)"
    )


def _no_failures(result: WrkResult) -> None:
    if result.bad:
        raise SystemExit(f"{result.bad} requests failed: the figures do not count")


def _check_served(base: str, key: str, url: str, number: str) -> None:
    served = _get_json(f"{base}/v1/accounts/{number}/statement", {"Authorization": f"Bearer {key}"})
    if served != asyncio.run(_expected_statement(url, number)):
        raise SystemExit(f"the app served another statement than the service: {served}")
    say(f"  the app serves the statement ({served['debt_minor']} kopecks of debt)")


def main() -> None:
    with scratch_database("http") as url, tempfile.TemporaryDirectory() as tmp:
        say(f"loading {ACCOUNTS:,} accounts (2 services, 20 paid charges, 3 open charges each)")
        loaded = asyncio.run(load_accounts(url, ACCOUNTS, pairs=20, open_charges=3, seed=5))
        say(f"  {loaded.entries:,} journal entries in {loaded.seconds:.1f} s")
        asyncio.run(verify_ledger(url, loaded.account_ids))
        key = asyncio.run(_api_key(url))
        app_lua, floor_lua = Path(tmp) / "app.lua", Path(tmp) / "floor.lua"
        write_lua(
            app_lua,
            loaded.numbers,
            "/v1/accounts/%s/statement",
            {"Authorization": f"Bearer {key}"},
        )
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
        # One server at a time, each started afresh: they never compete for the CPU or for
        # PostgreSQL connections, and the order alternates between rounds.
        for round_ in range(1, ROUNDS + 1):
            order = ["floor", "statement"] if round_ % 2 else ["statement", "floor"]
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
                        _check_served(base, key, url, loaded.numbers[0])
                    run_wrk(base, app_lua, connections=CONNECTIONS, seconds=3)
                    apps.append(run_wrk(base, app_lua, connections=CONNECTIONS, seconds=SECONDS))
                    _no_failures(apps[-1])
                say("  " + _line("statement", apps[-1]))
    floor_rps = sum(r.requests_per_s for r in floors) / len(floors)
    app_rps = sum(r.requests_per_s for r in apps) / len(apps)
    say(
        f"\nfloor (Starlette + asyncpg, one balance): {floor_rps:.0f} req/s, "
        f"p99 {max(r.p99_ms for r in floors):.2f} ms"
    )
    say(
        f"statement (Abonent, API key, full read model): {app_rps:.0f} req/s, "
        f"p99 {max(r.p99_ms for r in apps):.2f} ms"
    )
    say(
        f"({WORKERS} uvicorn workers each, wrk {CONNECTIONS} connections x {SECONDS} s, "
        f"{ROUNDS} rounds)"
    )
    say(f"statement_http_ratio={app_rps / floor_rps:.3f}")


if __name__ == "__main__":
    main()
