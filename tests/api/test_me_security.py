"""Every /v1/me route: own accounts only, live tokens only, subscribers only (both databases)."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import update

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import SubscriberSession
from tests.api.helpers import assert_problem, snapshot
from tests.api.me_helpers import ACCOUNT_ROUTES, OTHER_ROUTES, call, logged_in
from tests.factories import api_key, auth, charge
from tests.staff.helpers import make_staff, sign_in
from tests.subscribers.helpers import sim_holder

UNKNOWN = "000000000000"


async def test_another_customers_account_answers_exactly_as_an_unknown_one(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await logged_in(client, db)
    _, theirs = await sim_holder(db)
    async with db.session(write=True) as s:
        await charge(s, theirs, 40_000, due=dt.date(2026, 12, 10))
    before = await snapshot(db)
    for method, path, body in ACCOUNT_ROUTES:
        other = await call(
            client, method, f"/v1/me/accounts/{theirs.number}{path}", body, me.bearer
        )
        unknown = await call(client, method, f"/v1/me/accounts/{UNKNOWN}{path}", body, me.bearer)
        malformed = await call(client, method, f"/v1/me/accounts/12ab{path}", body, me.bearer)
        assert_problem(other, 404, "account_not_found")
        assert other.content == unknown.content == malformed.content, path
        assert other.headers.get("content-length") == unknown.headers.get("content-length")
    assert await snapshot(db) == before
    # And the caller's own account works on the same routes (the refusal is about ownership).
    mine = await client.get(f"/v1/me/accounts/{me.account.number}/history", headers=me.bearer)
    assert mine.status_code == 200


async def test_another_accounts_card_payment_answers_as_an_unknown_one(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await logged_in(client, db)
    they = await logged_in(client, db)
    started = await client.post(
        f"/v1/me/accounts/{they.account.number}/card-payments",
        json={"amount_minor": 5_000},
        headers={**they.bearer, "Idempotency-Key": "theirs-1"},
    )
    assert started.status_code == 201, started.text
    card_id = started.json()["id"]
    base = f"/v1/me/accounts/{me.account.number}/card-payments"
    theirs = await client.get(f"{base}/{card_id}", headers=me.bearer)
    unknown = await client.get(f"{base}/{card_id + 1000}", headers=me.bearer)
    assert_problem(theirs, 404, "card_payment_not_found")
    assert theirs.content == unknown.content
    # The holder sees it.
    own = await client.get(
        f"/v1/me/accounts/{they.account.number}/card-payments/{card_id}", headers=they.bearer
    )
    assert own.status_code == 200 and own.json()["id"] == card_id


async def test_no_token_expired_or_revoked_is_401_everywhere(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await logged_in(client, db)
    expired = await logged_in(client, db)
    revoked = await logged_in(client, db)
    assert (await client.post("/v1/auth/logout", headers=revoked.bearer)).status_code == 204
    async with db.session(write=True) as s:
        await s.execute(
            update(SubscriberSession)
            .where(SubscriberSession.customer_id == expired.account.customer_id)
            .values(access_expires_at=clock.now() - dt.timedelta(seconds=1))
        )
    before = await snapshot(db)
    cases = {
        "none": {},
        "empty": {"Authorization": "Bearer "},
        "garbage": auth("not-a-token"),
        "expired": expired.bearer,
        "revoked": revoked.bearer,
    }
    for name, headers in cases.items():
        for method, path, body in ACCOUNT_ROUTES:
            number = {"expired": expired, "revoked": revoked}.get(name, me).account.number
            answer = await call(client, method, f"/v1/me/accounts/{number}{path}", body, headers)
            assert_problem(answer, 401, "auth.not_authenticated")
            assert answer.headers["www-authenticate"] == "Bearer", (name, path)
        for method, url, body in OTHER_ROUTES:
            answer = await call(client, method, url, body, headers)
            assert_problem(answer, 401, "auth.not_authenticated")
    assert await snapshot(db) == before
    # An expired token is also refused once its session's clock has run out.
    clock.at = clock.now() + dt.timedelta(hours=1)
    late = await client.get(f"/v1/me/accounts/{me.account.number}/statement", headers=me.bearer)
    assert_problem(late, 401, "auth.not_authenticated")


async def test_staff_sessions_and_api_keys_are_refused_on_every_me_route(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await logged_in(client, db)
    key = await api_key(db, "admin")
    staff_token = await sign_in(client, await make_staff(db, "admin"))
    before = await snapshot(db)
    credentials = {
        "api key as bearer": auth(key),
        "api key as X-API-Key": {"X-API-Key": key},
        "staff session": auth(staff_token),
        # A subscriber token next to an API key: the key's presence alone is refused.
        "token and X-API-Key": {**me.bearer, "X-API-Key": key},
    }
    for name, headers in credentials.items():
        for method, path, body in ACCOUNT_ROUTES:
            url = f"/v1/me/accounts/{me.account.number}{path}"
            answer = await call(client, method, url, body, headers)
            assert_problem(answer, 403, "auth.wrong_audience")
        for method, url, body in OTHER_ROUTES:
            answer = await call(client, method, url, body, headers)
            assert answer.status_code == 403, name
            assert_problem(answer, 403, "auth.wrong_audience")
    assert await snapshot(db) == before


async def test_a_subscriber_token_is_refused_on_staff_routes(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await logged_in(client, db)
    number = me.account.number
    before = await snapshot(db)
    for method, url, body in [
        ("GET", "/v1/staff/me", None),
        ("GET", "/v1/people?q=Иванов", None),
        ("GET", f"/v1/people/{me.account.customer_id}", None),
        ("POST", f"/v1/people/{me.account.customer_id}/reveal", {"reason": "x"}),
        ("GET", "/v1/disputes", None),
        ("GET", f"/v1/accounts/{number}", None),
        ("GET", f"/v1/accounts/{number}/statement", None),
        ("GET", f"/v1/accounts/{number}/entries", None),
        ("GET", f"/v1/accounts/{number}/promised-payment", None),
        ("GET", "/v1/payments", None),
        ("GET", "/v1/card-payments/1", None),
    ]:
        answer = await client.request(method, url, json=body, headers=me.bearer)
        assert_problem(answer, 403, "auth.wrong_audience")
    assert await snapshot(db) == before


async def test_the_openapi_schema_documents_every_me_route(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    base = "/v1/me/accounts/{number}"
    for method, path, _ in ACCOUNT_ROUTES:
        documented = paths[base + path.replace("/1", "/{card_id}")][method.lower()]
        assert "200" in documented["responses"] or "201" in documented["responses"]
        assert documented["security"] == [{"SubscriberToken": []}], path
        assert "404" in documented["responses"]
