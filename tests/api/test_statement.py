from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from abonent.accounts import service as accounts
from abonent.db.uow import Database
from abonent.ledger.service import reverse_entry
from abonent.models import Account, Service
from abonent.statement.service import statement_for
from tests.api.helpers import assert_problem
from tests.factories import ACTOR, auth, charge, make_account, pay

D = dt.date

STATEMENT_FIELDS = {
    "account_number",
    "status",
    "currency",
    "balance_minor",
    "credit_limit_minor",
    "available_minor",
    "debt_minor",
    "overdue_minor",
    "debt_by_service",
    "next_due_date",
    "ageing",
    "promised_payment",
    "as_of",
}


async def indebted(db: Database) -> tuple[Account, Service, Service]:
    """Three charges on two services and one on the account, partly paid."""
    async with db.session(write=True) as s:
        account, (sim, line) = await make_account(
            s, kinds=("mobile", "internet"), credit_limit_minor=10_000
        )
        await charge(s, account, 50_000, due=D(2026, 10, 15), service=line)
        await charge(s, account, 30_000, due=D(2026, 9, 15), service=sim)
        await charge(s, account, 20_000, due=D(2026, 11, 30), service=sim)
        await charge(s, account, 5_000, due=D(2026, 6, 1))
        await pay(s, account, 40_000)
    return account, sim, line


async def test_statement_is_the_read_model_with_exact_figures(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], clock: Any
) -> None:
    account, sim, line = await indebted(db)
    r = await client.get(
        f"/v1/accounts/{account.number}/statement", headers=auth(keys["integration"])
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == STATEMENT_FIELDS
    # Oldest due first: the account-level June charge (5 000), the September SIM charge
    # (30 000), then 5 000 of the October internet charge.
    assert body == {
        "account_number": account.number,
        "status": "active",
        "currency": "RUB",
        "balance_minor": -65_000,
        "credit_limit_minor": 10_000,
        "available_minor": -55_000,
        "debt_minor": 65_000,
        "overdue_minor": 45_000,
        "debt_by_service": [
            {
                "service_id": line.id,
                "kind": "internet",
                "kind_label": "Домашний интернет",
                "label": line.label,
                "debt_minor": 45_000,
                "overdue_minor": 45_000,
            },
            {
                "service_id": sim.id,
                "kind": "mobile",
                "kind_label": "Мобильная связь",
                "label": sim.label,
                "debt_minor": 20_000,
                "overdue_minor": 0,
            },
        ],
        "next_due_date": "2026-11-30",
        "ageing": {
            "not_due": 20_000,
            "days_0_30": 0,
            "days_31_60": 45_000,
            "days_61_90": 0,
            "days_90_plus": 0,
        },
        "promised_payment": None,
        "as_of": "2026-11-18",
    }
    # The same object every channel renders.
    async with db.session() as s:
        assert (await statement_for(s, account)).model_dump(mode="json") == body


async def test_statement_shows_account_level_debt_last(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], clock: Any
) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 90_000, due=D(2026, 8, 1))
        await charge(s, account, 1_000, due=D(2026, 12, 1), service=sim)
    body = (
        await client.get(f"/v1/accounts/{account.number}/statement", headers=auth(keys["hotline"]))
    ).json()
    assert [(d["kind"], d["debt_minor"], d["overdue_minor"]) for d in body["debt_by_service"]] == [
        ("mobile", 1_000, 0),
        ("account", 90_000, 90_000),
    ]
    assert body["ageing"]["days_90_plus"] == 90_000


async def test_entries_page_newest_first_with_postings(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], clock: Any
) -> None:
    account, _, _ = await indebted(db)
    async with db.session(write=True) as s:
        reversal = await reverse_entry(
            s, (await pay(s, account, 100)).entry.id, reason="t", actor="t"
        )
    url = f"/v1/accounts/{account.number}/entries"
    h = auth(keys["collections"])
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(url, params=params, headers=h)
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        assert len(page["items"]) <= 3
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # 4 charges, 2 payments, 1 reversal: pages of 3, 3 and 1.
    assert pages == 3
    assert len(seen) == 7
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 7
    assert [e["kind"] for e in seen] == [
        "reversal",
        "payment",
        "payment",
        "charge",
        "charge",
        "charge",
        "charge",
    ]
    assert seen[0]["reverses_entry_id"] == seen[1]["id"] == reversal.entry.reverses_entry_id
    for entry in seen:
        legs = entry["postings"]
        assert len(legs) == 2
        assert sum(p["amount_minor"] for p in legs) == 0
        assert all(isinstance(p["amount_minor"], int) and p["currency"] == "RUB" for p in legs)
    first_charge = seen[-1]
    assert {(p["ledger"], p["amount_minor"]) for p in first_charge["postings"]} == {
        ("subscriber", 50_000),
        ("revenue:internet", -50_000),
    }


async def test_open_items_open_and_all_paginated(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], clock: Any
) -> None:
    account, sim, line = await indebted(db)
    url = f"/v1/accounts/{account.number}/open-items"
    h = auth(keys["integration"])
    r = await client.get(url, headers=h)
    assert r.status_code == 200
    items = r.json()["items"]
    assert r.json()["next_cursor"] is None
    assert [
        (i["side"], i["service_id"], i["amount_minor"], i["remaining_minor"]) for i in items
    ] == [
        ("debit", line.id, 50_000, 45_000),
        ("debit", sim.id, 20_000, 20_000),
    ]
    assert items[0]["due_date"] == "2026-10-15" and items[0]["cleared_at"] is None

    collected: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"state": "all", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(url, params=params, headers=h)).json()
        collected += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [(i["side"], i["amount_minor"], i["remaining_minor"]) for i in collected] == [
        ("debit", 50_000, 45_000),
        ("debit", 30_000, 0),
        ("debit", 20_000, 20_000),
        ("debit", 5_000, 0),
        ("credit", 40_000, 0),
    ]
    assert collected[1]["cleared_at"] is not None


async def test_cursor_refused_for_another_listing(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    a, _, _ = await indebted(db)
    b, _, _ = await indebted(db)
    h = auth(keys["admin"])
    page = (await client.get(f"/v1/accounts/{a.number}/entries?limit=1", headers=h)).json()
    cursor = page["next_cursor"]
    assert cursor
    for path in (
        f"/v1/accounts/{b.number}/entries",
        f"/v1/accounts/{a.number}/open-items",
        "/v1/accounts",
    ):
        assert_problem(
            await client.get(path, params={"cursor": cursor}, headers=h), 422, "cursor_invalid"
        )


@pytest.mark.parametrize("cursor", ["garbage!", "eyJzIjoxfQ", "W10", "", "e30"])
async def test_forged_cursor_is_refused(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], cursor: str
) -> None:
    a, _, _ = await indebted(db)
    r = await client.get(
        f"/v1/accounts/{a.number}/entries", params={"cursor": cursor}, headers=auth(keys["admin"])
    )
    assert_problem(r, 422, "cursor_invalid")


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten", "2.5"])
async def test_limit_is_bounded(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], limit: str
) -> None:
    a, _, _ = await indebted(db)
    h = auth(keys["admin"])
    for path in (f"/v1/accounts/{a.number}/entries", f"/v1/accounts/{a.number}/open-items"):
        assert_problem(
            await client.get(path, params={"limit": limit}, headers=h), 422, "validation_error"
        )


async def test_open_items_state_must_be_known(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    a, _, _ = await indebted(db)
    r = await client.get(
        f"/v1/accounts/{a.number}/open-items",
        params={"state": "closed"},
        headers=auth(keys["admin"]),
    )
    assert_problem(r, 422, "validation_error")


async def test_many_statements_at_once_are_all_right(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], clock: Any
) -> None:
    import asyncio

    accounts = [await indebted(db) for _ in range(3)]
    expected = {}
    async with db.session() as s:
        for account, _, _ in accounts:
            expected[account.number] = (await statement_for(s, account)).model_dump(mode="json")
    h = auth(keys["integration"])
    numbers = [a.number for a, _, _ in accounts] * 20
    responses = await asyncio.gather(
        *(client.get(f"/v1/accounts/{n}/statement", headers=h) for n in numbers)
    )
    assert [r.status_code for r in responses] == [200] * len(numbers)
    assert [r.json() for r in responses] == [expected[n] for n in numbers]


async def test_closed_account_keeps_its_debt_but_no_credit(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], clock: Any
) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s, credit_limit_minor=50_000)
        await charge(s, account, 30_000, due=D(2026, 10, 1), service=sim)
        await accounts.change_account_status(s, account, "closed", actor=ACTOR, reason="moved")
    r = await client.get(
        f"/v1/accounts/{account.number}/statement", headers=auth(keys["integration"])
    )
    body = r.json()
    assert (body["status"], body["balance_minor"], body["debt_minor"]) == (
        "closed",
        -30_000,
        30_000,
    )
    assert (body["credit_limit_minor"], body["available_minor"]) == (0, -30_000)
    async with db.session() as s:
        assert (await statement_for(s, account)).model_dump(mode="json") == body
