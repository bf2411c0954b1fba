"""Shared by the /v1/me tests: a logged-in subscriber, and every route of an own account."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from abonent.db.uow import Database
from abonent.models import Account
from tests.factories import auth, remember_secret
from tests.subscribers.helpers import codes_sent, sim_holder


async def login(client: httpx.AsyncClient, db: Database, msisdn: str) -> dict[str, str]:
    """Log in through the real API (code from the outbox); the tokens are remembered secrets."""
    sent = await client.post("/v1/auth/otp", json={"msisdn": msisdn})
    assert sent.status_code == 202
    code = (await codes_sent(db, msisdn))[-1]
    answer = await client.post("/v1/auth/token", json={"msisdn": msisdn, "code": code})
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    remember_secret(body["access_token"])
    remember_secret(body["refresh_token"])
    return body


@dataclass
class Me:
    msisdn: str
    account: Account
    tokens: dict[str, str]

    @property
    def bearer(self) -> dict[str, str]:
        return auth(self.tokens["access_token"])


async def logged_in(client: httpx.AsyncClient, db: Database) -> Me:
    msisdn, account = await sim_holder(db)
    return Me(msisdn, account, await login(client, db, msisdn))


# (method, path under /v1/me/accounts/{number}, JSON body or None)
ACCOUNT_ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/statement", None),
    ("GET", "/history", None),
    ("GET", "/open-items", None),
    ("GET", "/payments", None),
    ("GET", "/promised-payment", None),
    ("POST", "/promised-payment", {"amount_minor": 10_000}),
    ("POST", "/card-payments", {"amount_minor": 10_000}),
    ("GET", "/card-payments/1", None),
]
"""Every route of an own account: the tests of refusals walk all of them."""

OTHER_ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/v1/me", None),
    ("GET", "/v1/me/sessions", None),
    ("GET", "/v1/me/accounts", None),
    ("DELETE", "/v1/me/sessions/1", None),
]


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: dict[str, object] | None,
    headers: dict[str, str],
    key: str = "k-1",
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if method == "POST" else {}
    return await client.request(method, url, json=body, headers={**headers, **extra})
