"""The subscriber API for a mobile app: /v1/auth, /v1/me, /v1/public (both databases)."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import func, select

from abonent.accounts import service as accounts_service
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import LoginCode, OutboxMessage, SubscriberSession, ThrottleHit
from tests.factories import ACTOR, api_key, auth, charge, make_account, remember_secret
from tests.subscribers.helpers import codes_sent, sim_holder


async def _tokens(client: httpx.AsyncClient, db: Database, msisdn: str) -> dict[str, str]:
    sent = await client.post("/v1/auth/otp", json={"msisdn": msisdn})
    assert sent.status_code == 202
    code = (await codes_sent(db, msisdn))[-1]
    answer = await client.post("/v1/auth/token", json={"msisdn": msisdn, "code": code})
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    remember_secret(body["access_token"])
    remember_secret(body["refresh_token"])
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    return body


async def _count(db: Database, model: type) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_login_me_statement_and_logout(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, account = await sim_holder(db)
    async with db.session(write=True) as s:
        await charge(s, account, 12_345, due=dt.date(2026, 12, 10))
    tokens = await _tokens(client, db, msisdn)
    bearer = auth(tokens["access_token"])
    me = await client.get("/v1/me", headers=bearer)
    assert me.json() == {"msisdn_masked": f"+7 916 ***-**-{msisdn[-2:]}", "session_kind": "api"}
    listed = await client.get("/v1/me/accounts", headers=bearer)
    assert [(a["number"], a["statement"]["balance_minor"]) for a in listed.json()] == [
        (account.number, -12_345)
    ]
    statement = await client.get(f"/v1/me/accounts/{account.number}/statement", headers=bearer)
    assert statement.status_code == 200 and statement.json()["balance_minor"] == -12_345
    out = await client.post("/v1/auth/logout", headers=bearer)
    assert out.status_code == 204
    again = await client.get("/v1/me", headers=bearer)
    assert again.status_code == 401 and again.json()["code"] == "auth.not_authenticated"


async def test_another_subscribers_account_is_404_like_unknown(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, _ = await sim_holder(db)
    _, theirs = await sim_holder(db)
    bearer = auth((await _tokens(client, db, msisdn))["access_token"])
    other = await client.get(f"/v1/me/accounts/{theirs.number}/statement", headers=bearer)
    unknown = await client.get("/v1/me/accounts/000000000000/statement", headers=bearer)
    assert other.status_code == unknown.status_code == 404
    assert other.json()["code"] == unknown.json()["code"] == "account_not_found"


async def test_audiences_refused_both_ways(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, account = await sim_holder(db)
    key = await api_key(db)
    staff_on_me = await client.get("/v1/me", headers=auth(key))
    assert staff_on_me.status_code == 403 and staff_on_me.json()["code"] == "auth.wrong_audience"
    token = (await _tokens(client, db, msisdn))["access_token"]
    sub_on_staff = await client.get(f"/v1/accounts/{account.number}/statement", headers=auth(token))
    assert sub_on_staff.status_code == 403
    assert sub_on_staff.json()["code"] == "auth.wrong_audience"
    none = await client.get("/v1/me")
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"


async def test_wrong_code_counted_and_refresh_rotation(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, _ = await sim_holder(db)
    await client.post("/v1/auth/otp", json={"msisdn": msisdn})
    code = (await codes_sent(db, msisdn))[-1]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    bad = await client.post("/v1/auth/token", json={"msisdn": msisdn, "code": wrong})
    assert bad.status_code == 401 and bad.json()["code"] == "auth.code_invalid"
    async with db.session() as s:
        assert (await s.scalars(select(LoginCode.failures))).one() == 1
    tokens = (await client.post("/v1/auth/token", json={"msisdn": msisdn, "code": code})).json()
    remember_secret(tokens["access_token"])
    remember_secret(tokens["refresh_token"])
    rotated = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    remember_secret(rotated.json()["access_token"])
    remember_secret(rotated.json()["refresh_token"])
    reused = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401
    dead = await client.get("/v1/me", headers=auth(rotated.json()["access_token"]))
    assert dead.status_code == 401
    async with db.session() as s:
        assert (await s.scalars(select(SubscriberSession.revoked_reason))).one() == "refresh_reuse"


async def test_otp_same_answer_and_send_cap_with_retry_after(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, _ = await sim_holder(db)
    ours = await client.post("/v1/auth/otp", json={"msisdn": msisdn})
    before = await _count(db, OutboxMessage)
    stranger = await client.post("/v1/auth/otp", json={"msisdn": "+79990001122"})
    assert (stranger.status_code, stranger.json()) == (ours.status_code, ours.json())
    assert await _count(db, OutboxMessage) == before
    for _ in range(4):
        assert (await client.post("/v1/auth/otp", json={"msisdn": msisdn})).status_code == 202
    capped = await client.post("/v1/auth/otp", json={"msisdn": msisdn})
    assert capped.status_code == 429 and capped.json()["code"] == "auth.rate_limited"
    assert capped.headers["retry-after"] == "3600"
    assert len(await codes_sent(db, msisdn)) == 5


async def test_bad_input_is_4xx_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, _ = await sim_holder(db)
    before = (await _count(db, ThrottleHit), await _count(db, OutboxMessage))
    for body in ({}, {"msisdn": ""}, {"msisdn": "x" * 40}, {"msisdn": "не номер"}, {"msisdn": 7}):
        answer = await client.post("/v1/auth/otp", json=body)
        assert answer.status_code in (400, 422), body
    for body in ({"msisdn": msisdn}, {"msisdn": msisdn, "code": "12ab56"}):
        assert (await client.post("/v1/auth/token", json=body)).status_code == 422
    assert (await client.post("/v1/auth/refresh", json={})).status_code == 422
    assert (await _count(db, ThrottleHit), await _count(db, OutboxMessage)) == before


async def test_public_account_number_lookup(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    async with db.session(write=True) as s:
        account, (tv,) = await make_account(s, kinds=("tv",), full_name="Семёнов Пётр Ильич")
        await accounts_service.add_contract(
            s, account, number="ДГ-77/1", signed_on=dt.date(2026, 1, 5), actor=ACTOR
        )
    url = "/v1/public/account-number"
    found = await client.get(url, params={"smart_card": tv.smart_card, "chip_id": tv.chip_id})
    assert found.json() == {"account_number": account.number}
    by_contract = await client.get(url, params={"contract": "ДГ-77/1", "surname": "семенов"})
    assert by_contract.json() == {"account_number": account.number}
    half = await client.get(url, params={"smart_card": tv.smart_card})
    assert half.status_code == 422 and half.json()["code"] == "lookup_form_invalid"
    both = await client.get(
        url, params={"smart_card": tv.smart_card, "chip_id": tv.chip_id, "contract": "ДГ-77/1"}
    )
    assert both.status_code == 422
    miss = await client.get(url, params={"smart_card": tv.smart_card, "chip_id": "C0"})
    assert miss.status_code == 404
    for _ in range(17):  # 3 counted above: the cap is 20 per address per hour
        await client.get(url, params={"smart_card": tv.smart_card, "chip_id": "C0"})
    capped = await client.get(url, params={"smart_card": tv.smart_card, "chip_id": tv.chip_id})
    assert capped.status_code == 429 and capped.headers["retry-after"] == "3600"
