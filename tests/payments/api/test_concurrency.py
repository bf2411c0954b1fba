"""The same request from several connections at once books exactly once (PostgreSQL)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from abonent.app import create_app
from abonent.db.uow import Database
from abonent.models import IdempotencyKey, Payment
from tests.factories import api_key, auth
from tests.payments.api.helpers import account_with_debt, balance, body

pytestmark = pytest.mark.postgres_only
N = 12


async def _clients(db_url: str, n: int) -> tuple[list[Database], list[httpx.AsyncClient]]:
    """Each client is a separate app with its own engine: separate connections, like workers."""
    dbs = [Database(db_url) for _ in range(n)]
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(d)), base_url="http://testserver"
        )
        for d in dbs
    ]
    return dbs, clients


async def test_same_idempotency_key_from_many_connections_books_once(
    db: Database, db_url: str
) -> None:
    account = await account_with_debt(db, 30_000)
    key = await api_key(db, "integration")
    dbs, clients = await _clients(db_url, N)
    try:
        headers = {**auth(key), "Idempotency-Key": "race-1"}
        responses = await asyncio.gather(
            *(c.post("/v1/payments", json=body(account, 50_000), headers=headers) for c in clients)
        )
    finally:
        for c in clients:
            await c.aclose()
        for d in dbs:
            await d.dispose()
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    assert created, statuses
    assert len({r.content for r in created}) == 1
    assert all(
        r.json()["code"] == "idempotency_key_in_progress" for r in responses if r.status_code == 409
    )
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Payment)) == 1
        assert await s.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
    assert await balance(db, account) == (20_000, 0)

    # Once it finished, every retry gets the stored answer.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(db)), base_url="http://testserver"
    ) as c:
        again = await c.post("/v1/payments", json=body(account, 50_000), headers=headers)
    assert (again.status_code, again.content) == (201, created[0].content)


async def test_same_external_id_under_different_keys_books_once(db: Database, db_url: str) -> None:
    account = await account_with_debt(db, 0)
    key = await api_key(db, "integration")
    dbs, clients = await _clients(db_url, N)
    try:
        responses = await asyncio.gather(
            *(
                c.post(
                    "/v1/payments",
                    json=body(account, 7_700, external_id="BANK-1"),
                    headers={**auth(key), "Idempotency-Key": f"k-{i}"},
                )
                for i, c in enumerate(clients)
            )
        )
    finally:
        for c in clients:
            await c.aclose()
        for d in dbs:
            await d.dispose()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (N - 1) + [201], statuses
    assert len({r.json()["id"] for r in responses}) == 1
    assert await balance(db, account) == (7_700, 0)
