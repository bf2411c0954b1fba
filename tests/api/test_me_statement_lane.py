"""The lane of ``GET /v1/me/accounts/{number}/statement`` (api/statement_lane.py, both databases):
it answers the plain success as the route would; revocation is seen on the very next request;
the use is recorded once a minute; everything else is the route's own answer."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select

from abonent.api.statement_lane import number_of
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import SubscriberSession
from abonent.statement.service import statement_by_number
from tests.api.helpers import assert_problem
from tests.api.me_helpers import logged_in
from tests.factories import charge


async def test_the_lane_serves_the_holders_statement_as_the_service_builds_it(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await logged_in(client, db)
    async with db.session(write=True) as s:
        await charge(s, me.account, 12_345, due=dt.date(2026, 12, 10))
    answer = await client.get(f"/v1/me/accounts/{me.account.number}/statement", headers=me.bearer)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    async with db.session() as s:
        expected = (await statement_by_number(s, me.account.number)).model_dump(mode="json")
    assert answer.json() == expected
    assert answer.json()["debt_minor"] == 12_345


async def test_a_logout_is_refused_on_the_very_next_request(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await logged_in(client, db)
    url = f"/v1/me/accounts/{me.account.number}/statement"
    assert (await client.get(url, headers=me.bearer)).status_code == 200
    assert (await client.post("/v1/auth/logout", headers=me.bearer)).status_code == 204
    refused = await client.get(url, headers=me.bearer)
    assert_problem(refused, 401, "auth.not_authenticated")
    assert refused.headers["www-authenticate"] == "Bearer"


async def _last_seen(db: Database, customer_id: int) -> dt.datetime:
    async with db.session() as s:
        seen = await s.scalar(
            select(SubscriberSession.last_seen_at).where(
                SubscriberSession.customer_id == customer_id
            )
        )
    assert seen is not None
    return seen if seen.tzinfo is not None else seen.replace(tzinfo=dt.UTC)


async def test_the_use_is_recorded_at_most_once_a_minute(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await logged_in(client, db)
    url = f"/v1/me/accounts/{me.account.number}/statement"
    first = await _last_seen(db, me.account.customer_id)
    clock.at = clock.now() + dt.timedelta(seconds=30)
    assert (await client.get(url, headers=me.bearer)).status_code == 200
    assert await _last_seen(db, me.account.customer_id) == first  # not due yet: a pure read
    clock.at = clock.now() + dt.timedelta(minutes=2)
    assert (await client.get(url, headers=me.bearer)).status_code == 200
    assert await _last_seen(db, me.account.customer_id) == clock.now()


def _scope(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path}


def test_the_lane_takes_only_get_of_one_number() -> None:
    assert number_of(_scope("GET", "/v1/me/accounts/123456789012/statement")) == "123456789012"
    assert number_of(_scope("POST", "/v1/me/accounts/123456789012/statement")) is None
    assert number_of(_scope("GET", "/v1/me/accounts//statement")) is None
    assert number_of(_scope("GET", "/v1/me/accounts/1/2/statement")) is None
    assert number_of(_scope("GET", "/v1/me/accounts/1/statement/")) is None
    assert number_of(_scope("GET", "/v1/accounts/123456789012/statement")) is None
    assert number_of(_scope("GET", f"/v1/me/accounts/{'1' * 65}/statement")) is None
    assert number_of({"type": "websocket", "path": "/v1/me/accounts/1/statement"}) is None
