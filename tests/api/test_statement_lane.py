"""The lane of ``GET /v1/accounts/{number}/statement`` (api/statement_lane.py, both databases):
a key this process already knows gets the route's own body from the lane; a key it does not
know, a malformed or unknown number, a revoked key once the cache forgets it and every
failure are answered by the route, exactly as before."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from abonent.api import statement_lane
from abonent.api.deps import key_cache
from abonent.api.statement_lane import STAFF_PREFIX, number_of
from abonent.apikeys import service as apikeys
from abonent.db.uow import Database
from abonent.statement import reader
from abonent.statement.service import statement_by_number
from tests.api.helpers import assert_problem
from tests.factories import ACTOR, auth, charge, make_account


class Spy:
    """Counts what the lane itself read (the route reads through its own import)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = reader.read_statement

        async def counted(engine: Any, number: str) -> Any:
            self.calls += 1
            return await real(engine, number)

        monkeypatch.setattr(statement_lane, "read_statement", counted)


async def _indebted(db: Database) -> str:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        await charge(s, account, 12_345, due=dt.date(2026, 12, 10))
    return account.number


async def test_a_known_key_takes_the_lane_with_the_routes_body(
    client: httpx.AsyncClient,
    db: Database,
    keys: dict[str, str],
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number = await _indebted(db)
    spy = Spy(monkeypatch)
    url = f"/v1/accounts/{number}/statement"
    # The first request loads the key (the route, which caches it) ...
    first = await client.get(url, headers=auth(keys["hotline"]))
    assert first.status_code == 200, first.text
    assert spy.calls == 0
    # ... the next ones, with the key in the cache, are the lane's.
    second = await client.get(url, headers={"X-API-Key": keys["hotline"]})
    assert second.status_code == 200, second.text
    assert spy.calls == 1
    assert second.headers["content-type"] == "application/json"
    assert second.headers["x-request-id"]
    assert second.content == first.content
    async with db.session() as s:
        expected = (await statement_by_number(s, number)).model_dump(mode="json")
    assert second.json() == expected
    assert second.json()["debt_minor"] == 12_345


async def test_what_the_lane_does_not_take_is_the_routes_answer(
    client: httpx.AsyncClient,
    db: Database,
    keys: dict[str, str],
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number = await _indebted(db)
    headers = auth(keys["clerk"])
    assert (await client.get(f"/v1/accounts/{number}/statement", headers=headers)).is_success
    spy = Spy(monkeypatch)
    unknown = "0" * 11 + "0"  # Luhn-valid, no such account
    assert_problem(
        await client.get(f"/v1/accounts/{unknown}/statement", headers=headers),
        404,
        "account_not_found",
    )
    bad_luhn = number[:-1] + str((int(number[-1]) + 1) % 10)
    for raw, status in (
        (bad_luhn, 422),
        ("12345", 422),
        ("1234abcd5678", 422),
        ("12%0A3456789012", 422),
        ("1" * 65, 422),
    ):
        answer = await client.get(f"/v1/accounts/{raw}/statement", headers=headers)
        assert answer.status_code == status, (raw, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    # The lane tried only the all-digit numbers (unknown, bad Luhn, too short) and, refused,
    # passed each on to the route: the answers above are the route's.
    assert spy.calls == 3
    assert_problem(await client.get(f"/v1/accounts/{number}/statement"), 401, "api_key_missing")
    assert_problem(
        await client.get(f"/v1/accounts/{number}/statement", headers=auth("abk_nope")),
        401,
        "api_key_invalid",
    )


async def test_a_revoked_key_is_refused_once_the_cache_forgets_it(
    client: httpx.AsyncClient, db: Database, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = await _indebted(db)
    async with db.session(write=True) as s:
        key, plain = await apikeys.create(s, name="leaver", role="clerk", actor=ACTOR)
    now = [1000.0]
    key_cache.clock = lambda: now[0]  # put back by the autouse fixture
    url = f"/v1/accounts/{number}/statement"
    assert (await client.get(url, headers=auth(plain))).status_code == 200
    spy = Spy(monkeypatch)
    async with db.session(write=True) as s:
        await apikeys.revoke(s, key.id, actor=ACTOR)
    now[0] += key_cache.ttl - 0.5
    assert (await client.get(url, headers=auth(plain))).status_code == 200
    assert spy.calls == 1
    now[0] += 1.0
    assert_problem(await client.get(url, headers=auth(plain)), 401, "api_key_invalid")
    assert spy.calls == 1


def _scope(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path}


def test_the_lane_takes_only_get_of_one_number() -> None:
    assert number_of(_scope("GET", "/v1/accounts/123/statement"), STAFF_PREFIX) == "123"
    assert number_of(_scope("HEAD", "/v1/accounts/123/statement"), STAFF_PREFIX) is None
    assert number_of(_scope("GET", "/v1/accounts/1/2/statement"), STAFF_PREFIX) is None
    assert number_of(_scope("GET", "/v1/me/accounts/123/statement"), STAFF_PREFIX) is None
