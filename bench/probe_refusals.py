"""CPU time of a refused request: malformed against unauthenticated (issue 8's figure), and the
per-request cost of the app's outer layer (request id, metrics, guard: api/edge.py).

In process, on a scratch SQLite database, through httpx's ASGI transport, logging configured as
in production (JSON) but written to /dev/null. Each kind is sent ``PROBE_N`` times (default 300)
after a warm-up; the figure is process CPU time per request.

Run: ``PYTHONPATH=src .venv/bin/python bench/probe_refusals.py``
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from abonent.app import create_app
from abonent.db import migrate
from abonent.db.uow import Database

try:
    from abonent.kit import logs
except ImportError:  # a tree from before kit/logs.py: structlog's defaults, as they were
    logs = None  # type: ignore[assignment]

N = int(os.environ.get("PROBE_N", "300"))
FORM = "command=pay&txn_id=1&account=100000000009&sum=10.00&txn_date=20261118150000"

Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]

KINDS: dict[str, Request] = {
    "OSMP unauthenticated (no credentials)": lambda c: c.post(
        "/agents/osmp/SBER",
        content=FORM,
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    "OSMP malformed multipart (no boundary, no credentials)": lambda c: c.post(
        "/agents/osmp/SBER",
        content=b"--x\r\nbroken",
        headers={"content-type": "multipart/form-data"},
    ),
    "OSMP malformed urlencoded (not UTF-8, no credentials)": lambda c: c.post(
        "/agents/osmp/SBER",
        content=b"command=pay&account=\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    "API unauthenticated (no key)": lambda c: c.post("/v1/customers", json={"kind": "person"}),
    "API malformed JSON (no key)": lambda c: c.post(
        "/v1/customers", content=b"{not json", headers={"content-type": "application/json"}
    ),
}


async def cpu_per_request(client: httpx.AsyncClient, send: Request) -> tuple[float, int]:
    for _ in range(20):
        status = (await send(client)).status_code
    started = time.process_time()
    for _ in range(N):
        await send(client)
    return (time.process_time() - started) / N, status


async def edge_overhead() -> tuple[float, float] | None:
    """The same trivial ASGI app, bare and wrapped in the app's outer layer."""
    try:
        from abonent.api.edge import Edge
    except ImportError:  # a tree from before the outer layer
        return None

    async def bare(scope: object, receive: object, send: Callable[..., Awaitable[None]]) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def noop(_message: object) -> None:
        return None

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "POST", "path": "/agents/osmp/SBER", "headers": []}
    results = []
    for app in (bare, Edge(bare)):  # type: ignore[arg-type]
        rounds = 50_000
        started = time.process_time()
        for _ in range(rounds):
            await app(dict(scope), receive, noop)  # type: ignore[arg-type]
        results.append((time.process_time() - started) / rounds)
    return results[0], results[1]


async def probe(url: str) -> None:
    db = Database(url)
    app = create_app(db)
    # A tree whose app lets errors escape answers 500 here instead of raising.
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        rows = [(name, *await cpu_per_request(client, send)) for name, send in KINDS.items()]
    await db.dispose()
    overhead = await edge_overhead()
    out = sys.__stdout__
    assert out is not None
    for name, seconds, status in rows:
        print(f"{name:<58} HTTP {status}  {seconds * 1e3:7.3f} ms CPU/request", file=out)
    if overhead is None:
        return
    bare, edged = overhead
    print(
        f"{'outer layer (request id, metrics, guard) per request':<58}          "
        f"{(edged - bare) * 1e6:7.1f} µs ({bare * 1e6:.1f} µs bare, {edged * 1e6:.1f} µs wrapped)",
        file=out,
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'probe.db'}"
        migrate.upgrade(url)
        if logs is not None:
            logs.configure(json=True)
        # The logs' cost counts, not their bytes.
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        asyncio.run(probe(url))


if __name__ == "__main__":
    main()
