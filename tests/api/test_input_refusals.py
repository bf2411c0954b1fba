"""Bodies that are not what the API reads: each gets a clear problem and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from abonent.db.uow import Database
from abonent.models import Account
from tests.api.helpers import assert_problem, snapshot
from tests.factories import auth, make_account


async def _account(db: Database) -> Account:
    async with db.session(write=True) as s:
        account, _ = await make_account(s, credit_limit_minor=7_000)
    return account


def _write_routes(number: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/v1/customers"),
        ("POST", "/v1/customers/identify"),
        ("POST", "/v1/accounts"),
        ("PUT", f"/v1/accounts/{number}/credit-limit"),
        ("POST", f"/v1/accounts/{number}/status"),
        ("POST", f"/v1/accounts/{number}/close"),
        ("POST", f"/v1/accounts/{number}/services"),
        ("POST", f"/v1/accounts/{number}/contracts"),
    ]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"credit_limit_minor": 1', "application/json", 400, "malformed_json"),
        (b"\xff\xfe not utf-8", "application/json", 400, "malformed_json"),
        (b"[1, 2]", "application/json", 422, "validation_error"),
        (b'"text"', "application/json", 422, "validation_error"),
        (b"null", "application/json", 422, "validation_error"),
        (b"", "application/json", 422, "validation_error"),
        (b"credit_limit_minor=1", "application/x-www-form-urlencoded", 422, "validation_error"),
    ],
)
async def test_bodies_that_are_not_a_json_object(
    client: httpx.AsyncClient,
    db: Database,
    keys: dict[str, str],
    content: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    account = await _account(db)
    before = await snapshot(db)
    for method, path in _write_routes(account.number):
        r = await client.request(
            method,
            path,
            content=content,
            headers={**auth(keys["admin"]), "content-type": content_type},
        )
        assert_problem(r, status, code)
        assert r.json()["detail"], path
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    "amount", [100.5, 100.0, "100", "100.00", True, None, -100, 10**15 + 1, [100], {"v": 1}]
)
async def test_money_fields_are_strict_integers_of_kopecks(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], amount: Any
) -> None:
    account = await _account(db)
    before = await snapshot(db)
    h = auth(keys["admin"])
    r = await client.put(
        f"/v1/accounts/{account.number}/credit-limit",
        json={"credit_limit_minor": amount},
        headers=h,
    )
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "credit_limit_minor"]
    r = await client.post(
        "/v1/accounts",
        json={"customer_id": account.customer_id, "credit_limit_minor": amount},
        headers=h,
    )
    assert_problem(r, 422, "validation_error")
    assert await snapshot(db) == before


async def test_the_biggest_accepted_amount_is_exact(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    account = await _account(db)
    r = await client.put(
        f"/v1/accounts/{account.number}/credit-limit",
        json={"credit_limit_minor": 10**15},
        headers=auth(keys["admin"]),
    )
    assert r.status_code == 200 and r.json()["credit_limit_minor"] == 10**15


async def test_oversized_body_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    account = await _account(db)
    before = await snapshot(db)
    padding = "x" * 1_000_001
    for method, path in _write_routes(account.number):
        r = await client.request(
            method, path, json={"reason": padding}, headers=auth(keys["admin"])
        )
        assert_problem(r, 413, "payload_too_large")
    assert await snapshot(db) == before


async def test_validation_errors_do_not_echo_the_input(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    # Personal data must not come back in an error (nor end up in a client's logs).
    r = await client.post(
        "/v1/customers",
        json={"kind": "person", "full_name": "А", "passport": "4510123456", "inn": 7701234567},
        headers=auth(keys["clerk"]),
    )
    assert_problem(r, 422, "validation_error")
    assert "4510123456" not in r.text and "7701234567" not in r.text
