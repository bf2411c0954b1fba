from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from abonent.db.uow import Database
from abonent.models import AuditEvent, Customer
from tests.api.helpers import assert_problem, snapshot
from tests.factories import auth

PERSON = {
    "kind": "person",
    "full_name": "  Петрова   Анна Сергеевна ",
    "passport": "45 10 123456",
    "birth_date": "1990-04-01",
    "contact_phone": "8 (916) 555-12-34",
    "email": "anna@example.ru",
}


async def _audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.session() as s:
        return list(
            await s.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


async def test_create_person_stores_passport_encrypted_and_shows_it_masked(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    r = await client.post("/v1/customers", json=PERSON, headers=auth(keys["clerk"]))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "person"
    assert body["full_name"] == "Петрова Анна Сергеевна"
    assert body["passport_masked"] == "45** ***456"
    assert body["contact_phone"] == "+79165551234"
    assert body["birth_date"] == "1990-04-01"
    assert "passport" not in body and "123456" not in r.text

    got = await client.get(f"/v1/customers/{body['id']}", headers=auth(keys["hotline"]))
    assert got.status_code == 200
    assert got.json() == body

    async with db.session() as s:
        row = await s.get(Customer, body["id"])
        assert row is not None and row.passport_enc is not None
        assert b"4510123456" not in row.passport_enc
    [event] = await _audit(db, "customer.create")
    assert event.object_id == str(body["id"])
    assert event.actor.startswith("apikey:") and event.actor.endswith(":k-clerk")
    assert event.role == "clerk"


async def test_create_company_needs_an_inn(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    company = {"kind": "company", "full_name": "ООО Ромашка", "inn": "7701234567"}
    r = await client.post("/v1/customers", json=company, headers=auth(keys["admin"]))
    assert r.status_code == 201
    assert (r.json()["inn"], r.json()["passport_masked"]) == ("7701234567", None)

    before = await snapshot(db)
    r = await client.post(
        "/v1/customers",
        json={"kind": "company", "full_name": "ООО Лютик"},
        headers=auth(keys["admin"]),
    )
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "company", "inn"]
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"passport": "45 10 12345"}, 422, "passport_malformed"),
        ({"passport": None}, 422, "validation_error"),
        ({"full_name": "   "}, 422, "name_invalid"),
        ({"inn": "12345"}, 422, "inn_invalid"),
        ({"contact_phone": "phone"}, 422, "msisdn_malformed"),
        ({"contact_phone": "+1 212 555 0100"}, 422, "msisdn_invalid"),
        ({"email": "not-an-email"}, 422, "validation_error"),
        ({"timezone": "Mars/Olympus"}, 422, "validation_error"),
        ({"birth_date": 19900401}, 422, "validation_error"),
        ({"kind": "robot"}, 422, "validation_error"),
        ({"passport_number": "4510123456"}, 422, "validation_error"),
    ],
)
async def test_bad_customer_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    db: Database,
    keys: dict[str, str],
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = await snapshot(db)
    body = {**PERSON, **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = await client.post("/v1/customers", json=body, headers=auth(keys["clerk"]))
    assert_problem(r, status, code)
    assert await snapshot(db) == before


async def test_identify_by_passport_is_an_audited_identity_check(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    created = (await client.post("/v1/customers", json=PERSON, headers=auth(keys["clerk"]))).json()
    r = await client.post(
        "/v1/customers/identify",
        json={"passport": "4510-123456", "reason": "звонок на 8-800"},
        headers=auth(keys["hotline"]),
    )
    assert r.status_code == 200
    assert [c["id"] for c in r.json()["items"]] == [created["id"]]
    assert r.json()["items"][0]["passport_masked"] == "45** ***456"
    [event] = await _audit(db, "customer.identity_check")
    assert (event.object_id, event.reason, event.role) == (
        str(created["id"]),
        "звонок на 8-800",
        "hotline",
    )
    assert event.details == {"passport": "45** ***456"}

    # Nobody matches: still an identity check on record, with the masked passport only.
    r = await client.post(
        "/v1/customers/identify", json={"passport": "4611 654321"}, headers=auth(keys["clerk"])
    )
    assert r.status_code == 200 and r.json() == {"items": []}
    events = await _audit(db, "customer.identity_check")
    assert [(e.object_id, e.details) for e in events] == [
        (str(created["id"]), {"passport": "45** ***456"}),
        ("no_match", {"passport": "46** ***321"}),
    ]


async def test_identify_with_malformed_passport_is_refused_and_not_recorded(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    before = await snapshot(db)
    r = await client.post(
        "/v1/customers/identify", json={"passport": "45 10"}, headers=auth(keys["clerk"])
    )
    assert_problem(r, 422, "passport_malformed")
    assert await snapshot(db) == before


async def test_reveal_passport_needs_a_reason_and_is_audited(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    created = (await client.post("/v1/customers", json=PERSON, headers=auth(keys["clerk"]))).json()
    url = f"/v1/customers/{created['id']}/passport/reveal"

    before = await snapshot(db)
    for bad in ({}, {"reason": ""}, {"reason": "   "}):
        assert_problem(
            await client.post(url, json=bad, headers=auth(keys["supervisor"])),
            422,
            "validation_error",
        )
    assert await snapshot(db) == before

    r = await client.post(url, json={"reason": "договор"}, headers=auth(keys["supervisor"]))
    assert r.status_code == 200
    assert r.json() == {"customer_id": created["id"], "passport": "4510123456"}
    [event] = await _audit(db, "customer.passport_reveal")
    assert (event.object_id, event.reason, event.role) == (
        str(created["id"]),
        "договор",
        "supervisor",
    )


async def test_unknown_customer_is_404(client: httpx.AsyncClient, keys: dict[str, str]) -> None:
    for path in ("/v1/customers/999", "/v1/customers/999/accounts"):
        assert_problem(
            await client.get(path, headers=auth(keys["clerk"])), 404, "customer_not_found"
        )
    assert_problem(
        await client.get("/v1/customers/abc", headers=auth(keys["clerk"])), 422, "validation_error"
    )
    assert_problem(
        await client.get(f"/v1/customers/{2**70}", headers=auth(keys["clerk"])),
        422,
        "validation_error",
    )


async def test_customer_accounts_lists_every_account_with_balance(
    client: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    customer = (await client.post("/v1/customers", json=PERSON, headers=auth(keys["clerk"]))).json()
    numbers = []
    for limit in (0, 30_000):
        r = await client.post(
            "/v1/accounts",
            json={"customer_id": customer["id"], "credit_limit_minor": limit},
            headers=auth(keys["supervisor"]),
        )
        assert r.status_code == 201
        numbers.append(r.json()["number"])
    r = await client.get(f"/v1/customers/{customer['id']}/accounts", headers=auth(keys["hotline"]))
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["number"] for i in items] == numbers
    assert [(i["credit_limit_minor"], i["balance_minor"], i["debt_minor"]) for i in items] == [
        (0, 0, 0),
        (30_000, 0, 0),
    ]
