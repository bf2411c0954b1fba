"""The cabinet's login over HTTP: code by SMS, the session cookie, CSRF, limits, logout."""

from __future__ import annotations

import re

import httpx

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from tests.subscribers.helpers import codes_sent, sim_holder

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:2000]
    return found.group(1)


async def login(client: httpx.AsyncClient, db: Database, msisdn: str) -> httpx.Response:
    form = await client.get("/cabinet/login")
    assert form.status_code == 200
    sent = await client.post(
        "/cabinet/login", data={"msisdn": msisdn, "csrf_token": csrf_of(form.text)}
    )
    assert sent.status_code == 303, sent.text
    page = await client.get(sent.headers["location"])
    assert page.status_code == 200
    code = (await codes_sent(db, msisdn))[-1]
    answer = await client.post(
        "/cabinet/login/code", data={"code": code, "csrf_token": csrf_of(page.text)}
    )
    return answer


async def test_login_sets_session_cookie_and_shows_accounts(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, account = await sim_holder(db)
    answer = await login(client, db, msisdn)
    assert answer.status_code == 303 and answer.headers["location"] == "/cabinet/accounts"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("ab_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = await client.get("/cabinet/accounts")
    assert page.status_code == 200, page.text
    assert account.number in page.text
    assert page.headers["cache-control"] == "no-store"
    assert 'data-test="header-balance"' in page.text
