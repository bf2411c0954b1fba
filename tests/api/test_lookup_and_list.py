from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from abonent.accounts import service as accounts
from abonent.db.uow import Database
from abonent.models import Account
from tests.api.helpers import assert_problem
from tests.factories import ACTOR, auth, charge, make_account

D = dt.date


async def test_lookup_by_every_identifier(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s, kinds=())
        other, _ = await make_account(s, kinds=())
        for spec in (
            accounts.ServiceSpec(kind="mobile", msisdn="+79035550011"),
            accounts.ServiceSpec(kind="internet", login="ivanov_home"),
            accounts.ServiceSpec(kind="tv", smart_card="7500999888", chip_id="c0ffee"),
        ):
            await accounts.add_service(s, account, spec, actor=ACTOR)
        await accounts.add_contract(s, account, "ЛС-77/1", D(2026, 1, 1), actor=ACTOR)
    h = auth(keys["integration"])
    expected = {"items": [{"number": account.number}]}
    for params in (
        {"msisdn": "8 (903) 555-00-11"},
        {"msisdn": "+79035550011"},
        {"login": "ivanov_home"},
        {"contract": "ЛС-77/1"},
        {"smart_card": "7500999888", "chip_id": "C0FFEE"},
        {"smart_card": "7500999888", "chip_id": "c0ffee"},
    ):
        r = await client.get("/v1/lookup", params=params, headers=h)
        assert r.status_code == 200, (params, r.text)
        assert r.json() == expected, params
    for params in (
        {"msisdn": "+79035550012"},
        {"login": "nobody"},
        {"contract": "ЛС-77/2"},
        {"smart_card": "7500999888", "chip_id": "BEEF"},
    ):
        r = await client.get("/v1/lookup", params=params, headers=h)
        assert r.status_code == 200 and r.json() == {"items": []}, params
    assert other.number not in r.text


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "lookup_ambiguous"),
        ({"msisdn": "+79035550011", "login": "x"}, "lookup_ambiguous"),
        ({"smart_card": "7500999888"}, "lookup_smart_card_needs_chip"),
        ({"chip_id": "C0FFEE"}, "lookup_smart_card_needs_chip"),
        ({"msisdn": "not a phone"}, "msisdn_malformed"),
        ({"msisdn": "+1 212 555 0100"}, "msisdn_invalid"),
        ({"login": "x" * 65}, "validation_error"),
    ],
)
async def test_bad_lookup_is_refused(
    client: httpx.AsyncClient, keys: dict[str, str], params: dict[str, str], code: str
) -> None:
    r = await client.get("/v1/lookup", params=params, headers=auth(keys["hotline"]))
    assert_problem(r, 422, code)


async def _accounts(db: Database) -> list[Account]:
    """Six accounts: #2 and #5 owe, #4 is suspended, #6 is closed with debt."""
    made = []
    async with db.session(write=True) as s:
        for i in range(6):
            account, (sim,) = await make_account(s)
            if i in (1, 4, 5):
                await charge(s, account, 1_000 * (i + 1), due=D(2026, 10, 1), service=sim)
            made.append(account)
        await accounts.change_account_status(s, made[3], "suspended", actor=ACTOR, reason="x")
        await accounts.change_account_status(s, made[5], "closed", actor=ACTOR, reason="x")
    return made


async def _all_pages(
    client: httpx.AsyncClient, key: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/v1/accounts", params=query, headers=auth(key))
        assert r.status_code == 200, r.text
        pages += 1
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items, pages


async def test_list_accounts_pages_through_everything_once(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    made = await _accounts(db)
    items, pages = await _all_pages(client, keys["integration"], {"limit": 4})
    assert pages == 2
    assert [i["number"] for i in items] == [a.number for a in made]
    items, pages = await _all_pages(client, keys["integration"], {"limit": 6})
    assert pages == 1 and len(items) == 6


async def test_list_accounts_filters(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    made = await _accounts(db)
    key = keys["collections"]
    items, pages = await _all_pages(client, key, {"in_debt": "true", "limit": 1})
    assert [(i["number"], i["debt_minor"]) for i in items] == [
        (made[1].number, 2_000),
        (made[4].number, 5_000),
        (made[5].number, 6_000),
    ]
    assert pages == 3
    items, _ = await _all_pages(client, key, {"in_debt": "true", "status": "closed"})
    assert [(i["number"], i["status"]) for i in items] == [(made[5].number, "closed")]
    items, _ = await _all_pages(client, key, {"in_debt": "false"})
    assert [i["number"] for i in items] == [made[i].number for i in (0, 2, 3)]
    items, _ = await _all_pages(client, key, {"status": "suspended"})
    assert [i["number"] for i in items] == [made[3].number]


async def test_list_accounts_refusals(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    await _accounts(db)
    h = auth(keys["admin"])
    first = (await client.get("/v1/accounts", params={"limit": 2}, headers=h)).json()
    # The cursor was issued for the unfiltered list: with a filter it is refused.
    r = await client.get(
        "/v1/accounts", params={"cursor": first["next_cursor"], "in_debt": "true"}, headers=h
    )
    assert_problem(r, 422, "cursor_invalid")
    for params in ({"limit": 0}, {"limit": 201}, {"status": "open"}, {"in_debt": "maybe"}):
        assert_problem(
            await client.get("/v1/accounts", params=params, headers=h), 422, "validation_error"
        )
    r = await client.get("/v1/accounts", params={"limit": 200}, headers=h)
    assert r.status_code == 200 and len(r.json()["items"]) == 6
