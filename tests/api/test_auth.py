"""Who may call what. The expected matrix is written out here by hand, on purpose: it is the
specification the permission table in ``abonent.apikeys.permissions`` must meet."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from abonent.accounts import service as accounts
from abonent.api.deps import key_cache
from abonent.apikeys import service as apikeys
from abonent.db.uow import Database
from abonent.models import Account, Customer, Service
from abonent.models.ops import ROLES
from tests.api.helpers import assert_problem, snapshot
from tests.factories import ACTOR, auth, make_account

ALL = set(ROLES)
STAFF = ALL - {"integration"}
DESK = {"admin", "supervisor", "clerk"}
BOSS = {"admin", "supervisor"}

_n = itertools.count(1)


@dataclass
class Target:
    customer: Customer
    account: Account
    service: Service


Request = tuple[str, str, dict[str, Any] | None]


@dataclass(frozen=True)
class Case:
    allowed: set[str]
    success: int
    build: Callable[[Target], Request]


CASES: dict[str, Case] = {
    "create customer": Case(
        DESK,
        201,
        lambda t: (
            "POST",
            "/v1/customers",
            {"kind": "person", "full_name": "Тест Тестович", "passport": f"4610{next(_n):06d}"},
        ),
    ),
    "identify by passport": Case(
        STAFF, 200, lambda t: ("POST", "/v1/customers/identify", {"passport": "4510000001"})
    ),
    "get customer": Case(STAFF, 200, lambda t: ("GET", f"/v1/customers/{t.customer.id}", None)),
    "reveal passport": Case(
        DESK,
        200,
        lambda t: ("POST", f"/v1/customers/{t.customer.id}/passport/reveal", {"reason": "x"}),
    ),
    "customer accounts": Case(
        STAFF, 200, lambda t: ("GET", f"/v1/customers/{t.customer.id}/accounts", None)
    ),
    "open account": Case(
        DESK, 201, lambda t: ("POST", "/v1/accounts", {"customer_id": t.customer.id})
    ),
    "open account with credit": Case(
        BOSS,
        201,
        lambda t: ("POST", "/v1/accounts", {"customer_id": t.customer.id, "credit_limit_minor": 1}),
    ),
    "list accounts": Case(ALL, 200, lambda t: ("GET", "/v1/accounts?in_debt=false", None)),
    "get account": Case(ALL, 200, lambda t: ("GET", f"/v1/accounts/{t.account.number}", None)),
    "credit limit": Case(
        BOSS,
        200,
        lambda t: (
            "PUT",
            f"/v1/accounts/{t.account.number}/credit-limit",
            {"credit_limit_minor": 500},
        ),
    ),
    "suspend account": Case(
        DESK,
        200,
        lambda t: (
            "POST",
            f"/v1/accounts/{t.account.number}/status",
            {"status": "suspended", "reason": "x"},
        ),
    ),
    "close account": Case(
        BOSS, 200, lambda t: ("POST", f"/v1/accounts/{t.account.number}/close", {"reason": "x"})
    ),
    "add service": Case(
        DESK,
        201,
        lambda t: (
            "POST",
            f"/v1/accounts/{t.account.number}/services",
            {"kind": "internet", "login": f"login{next(_n)}"},
        ),
    ),
    "service status": Case(
        DESK,
        200,
        lambda t: (
            "POST",
            f"/v1/accounts/{t.account.number}/services/{t.service.id}/status",
            {"status": "suspended", "reason": "x"},
        ),
    ),
    "add contract": Case(
        DESK,
        201,
        lambda t: (
            "POST",
            f"/v1/accounts/{t.account.number}/contracts",
            {"number": f"C-{next(_n)}", "signed_on": "2026-11-01"},
        ),
    ),
    "statement": Case(
        ALL, 200, lambda t: ("GET", f"/v1/accounts/{t.account.number}/statement", None)
    ),
    "entries": Case(ALL, 200, lambda t: ("GET", f"/v1/accounts/{t.account.number}/entries", None)),
    "open items": Case(
        ALL, 200, lambda t: ("GET", f"/v1/accounts/{t.account.number}/open-items", None)
    ),
    "lookup": Case(ALL, 200, lambda t: ("GET", "/v1/lookup?login=nobody", None)),
}


async def _target(db: Database) -> Target:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        customer = await accounts.get_customer(s, account.customer_id)
    return Target(customer, account, sim)


@pytest.mark.parametrize("role", ROLES)
async def test_role_matrix(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], role: str
) -> None:
    for name, case in CASES.items():
        method, path, body = case.build(await _target(db))
        before = await snapshot(db)
        r = await client.request(method, path, json=body, headers=auth(keys[role]))
        if role in case.allowed:
            assert r.status_code == case.success, (name, role, r.text)
        else:
            assert_problem(r, 403, "role_forbidden")
            assert await snapshot(db) == before, (name, role)


async def test_every_v1_route_demands_a_key(client: httpx.AsyncClient, db: Database) -> None:
    target = await _target(db)
    for name, case in CASES.items():
        method, path, body = case.build(target)
        before = await snapshot(db)
        r = await client.request(method, path, json=body)
        body_ = assert_problem(r, 401, "api_key_missing")
        assert r.headers["www-authenticate"] == "Bearer", name
        assert "Authorization" in body_["detail"]
        r = await client.request(method, path, json=body, headers=auth("abk_not-a-real-key"))
        assert_problem(r, 401, "api_key_invalid")
        assert await snapshot(db) == before, name


async def test_key_in_x_api_key_header_and_bearer_in_any_case(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    target = await _target(db)
    url = f"/v1/accounts/{target.account.number}/statement"
    for headers in (
        {"X-API-Key": keys["integration"]},
        {"Authorization": f"bearer {keys['integration']}"},
        {"Authorization": f"Bearer {keys['integration']} "},
    ):
        assert (await client.get(url, headers=headers)).status_code == 200, headers
    for authorization in (f"Basic {keys['integration']}", "Bearer ", "Bearer", keys["integration"]):
        assert_problem(
            await client.get(url, headers={"Authorization": authorization}),
            401,
            "api_key_missing",
        )


async def test_revoked_key_is_refused_once_the_cache_forgets_it(
    client: httpx.AsyncClient, db: Database
) -> None:
    target = await _target(db)
    async with db.session(write=True) as s:
        key, plain = await apikeys.create(s, name="leaver", role="clerk", actor=ACTOR)
    now = [1000.0]
    key_cache.clock = lambda: now[0]  # put back by the autouse fixture
    url = f"/v1/accounts/{target.account.number}"
    assert (await client.get(url, headers=auth(plain))).status_code == 200
    async with db.session(write=True) as s:
        await apikeys.revoke(s, key.id, actor=ACTOR)
    # Within the cache's few seconds the process still knows the key as valid ...
    now[0] += key_cache.ttl - 0.5
    assert (await client.get(url, headers=auth(plain))).status_code == 200
    # ... and once they pass, the database has the last word.
    now[0] += 1.0
    assert_problem(await client.get(url, headers=auth(plain)), 401, "api_key_invalid")
    # A fresh process (an empty cache) refuses it at once.
    key_cache.clear()
    assert_problem(await client.get(url, headers=auth(plain)), 401, "api_key_invalid")


async def test_unknown_permission_is_a_programming_error() -> None:
    from abonent.api.deps import require

    with pytest.raises(ValueError, match="unknown permission"):
        require("acounts.read")


async def test_concurrent_misses_look_the_key_up_once() -> None:
    import asyncio

    from abonent.kit.errors import Unauthorized

    cache = apikeys.KeyCache(ttl=5.0)
    calls = 0

    async def load() -> apikeys.KeyInfo:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return apikeys.KeyInfo(7, "desk", "clerk")

    got = await asyncio.gather(*(cache.resolve("abk_x", load) for _ in range(25)))
    assert calls == 1
    assert set(got) == {apikeys.KeyInfo(7, "desk", "clerk")}
    assert cache.get("abk_x") == apikeys.KeyInfo(7, "desk", "clerk")

    async def refuse() -> apikeys.KeyInfo:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise Unauthorized("no", code="api_key_invalid")

    results = await asyncio.gather(
        *(cache.resolve("abk_bad", refuse) for _ in range(10)), return_exceptions=True
    )
    assert calls == 2
    assert all(isinstance(r, Unauthorized) for r in results)
    # A refusal is never remembered: the next attempt asks again.
    assert cache.get("abk_bad") is None
    with pytest.raises(Unauthorized):
        await cache.resolve("abk_bad", refuse)
    assert calls == 3
