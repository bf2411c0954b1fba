from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from abonent.accounts import service as accounts
from abonent.db.uow import Database
from abonent.kit.numbers import luhn_check_digit
from abonent.models import Account, AuditEvent, Service, ServiceStatusChange
from tests.api.helpers import assert_problem, snapshot
from tests.factories import ACTOR, auth, charge, make_account, pay

D = dt.date
UNKNOWN = "12345678901" + luhn_check_digit("12345678901")
TYPO = UNKNOWN[:-1] + str((int(UNKNOWN[-1]) + 1) % 10)


async def new_account(db: Database, **kwargs: Any) -> tuple[Account, list[Service]]:
    async with db.session(write=True) as s:
        return await make_account(s, **kwargs)


async def customer_id(db: Database) -> int:
    async with db.session(write=True) as s:
        c = await accounts.create_customer(
            s, kind="company", full_name="ООО Тест", inn="7701234567", actor=ACTOR
        )
        return c.id


async def audit_actions(db: Database) -> list[str]:
    async with db.session() as s:
        return list(await s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- opening ----------------------------------------------------------------------------------


async def test_open_account_with_credit_limit(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    cid = await customer_id(db)
    r = await client.post(
        "/v1/accounts",
        json={"customer_id": cid, "credit_limit_minor": 150_000, "currency": "RUB"},
        headers=auth(keys["supervisor"]),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    number = body["number"]
    assert len(number) == 12 and number[-1] == luhn_check_digit(number[:-1])
    assert {k: body[k] for k in ("customer_id", "status", "currency", "credit_limit_minor")} == {
        "customer_id": cid,
        "status": "active",
        "currency": "RUB",
        "credit_limit_minor": 150_000,
    }
    assert (body["balance_minor"], body["debt_minor"], body["services"]) == (0, 0, [])
    assert (await audit_actions(db))[-1] == "account.open"

    st = (await client.get(f"/v1/accounts/{number}/statement", headers=auth(keys["clerk"]))).json()
    assert (st["balance_minor"], st["available_minor"]) == (0, 150_000)


async def test_clerk_opens_accounts_but_grants_no_credit(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    cid = await customer_id(db)
    before = await snapshot(db)
    r = await client.post(
        "/v1/accounts",
        json={"customer_id": cid, "credit_limit_minor": 1},
        headers=auth(keys["clerk"]),
    )
    assert_problem(r, 403, "role_forbidden")
    assert await snapshot(db) == before
    r = await client.post("/v1/accounts", json={"customer_id": cid}, headers=auth(keys["clerk"]))
    assert r.status_code == 201 and r.json()["credit_limit_minor"] == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"credit_limit_minor": 100.5}, "validation_error"),
        ({"credit_limit_minor": 100.0}, "validation_error"),
        ({"credit_limit_minor": "100"}, "validation_error"),
        ({"credit_limit_minor": True}, "validation_error"),
        ({"credit_limit_minor": -1}, "validation_error"),
        ({"credit_limit_minor": 10**16}, "validation_error"),
        ({"credit_limit": 100}, "validation_error"),
        ({"currency": "USD"}, "currency_invalid"),
        ({"currency": "rub"}, "validation_error"),
        ({"customer_id": "1"}, "validation_error"),
        ({"customer_id": 999_999}, "customer_not_found"),
        ({"number": TYPO}, "account_number_check_digit"),
    ],
)
async def test_bad_opening_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    db: Database,
    keys: dict[str, str],
    body: dict[str, Any],
    code: str,
) -> None:
    cid = await customer_id(db)
    before = await snapshot(db)
    r = await client.post(
        "/v1/accounts", json={"customer_id": cid, **body}, headers=auth(keys["admin"])
    )
    assert_problem(r, 404 if code == "customer_not_found" else 422, code)
    assert await snapshot(db) == before


async def test_import_number_taken_is_a_conflict(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    account, _ = await new_account(db)
    cid = await customer_id(db)
    before = await snapshot(db)
    r = await client.post(
        "/v1/accounts",
        json={"customer_id": cid, "number": account.number},
        headers=auth(keys["admin"]),
    )
    assert_problem(r, 409, "account_number_taken")
    assert await snapshot(db) == before


# --- reading by number ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["", "/statement", "/entries", "/open-items"],
)
async def test_number_typo_unknown_and_malformed_are_told_apart(
    client: httpx.AsyncClient, keys: dict[str, str], path: str
) -> None:
    h = auth(keys["integration"])
    assert_problem(
        await client.get(f"/v1/accounts/{TYPO}{path}", headers=h), 422, "account_number_check_digit"
    )
    assert_problem(
        await client.get(f"/v1/accounts/{UNKNOWN}{path}", headers=h), 404, "account_not_found"
    )
    assert_problem(
        await client.get(f"/v1/accounts/12345{path}", headers=h), 422, "account_number_format"
    )
    assert_problem(
        await client.get(f"/v1/accounts/abcdefghijkl{path}", headers=h),
        422,
        "account_number_format",
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/credit-limit", {"credit_limit_minor": 100}),
        ("POST", "/status", {"status": "suspended", "reason": "x"}),
        ("POST", "/close", {"reason": "x"}),
        ("POST", "/services", {"kind": "internet", "login": "someone"}),
        ("POST", "/services/1/status", {"status": "suspended", "reason": "x"}),
        ("POST", "/contracts", {"number": "Д-1", "signed_on": "2026-01-01"}),
    ],
)
async def test_writes_to_a_typo_or_unknown_number_change_nothing(
    client: httpx.AsyncClient,
    db: Database,
    keys: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    await new_account(db)
    before = await snapshot(db)
    h = auth(keys["admin"])
    r = await client.request(method, f"/v1/accounts/{TYPO}{path}", json=body, headers=h)
    assert_problem(r, 422, "account_number_check_digit")
    r = await client.request(method, f"/v1/accounts/{UNKNOWN}{path}", json=body, headers=h)
    assert_problem(r, 404, "account_not_found")
    assert await snapshot(db) == before


async def test_account_detail_has_services_and_contracts(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    async with db.session(write=True) as s:
        await accounts.ensure_tariff(
            s, code="home-100", name="Дом 100", service_kind="internet", monthly_fee_minor=55_000
        )
    account, (sim,) = await new_account(db, credit_limit_minor=20_000)
    h = auth(keys["clerk"])
    r = await client.post(
        f"/v1/accounts/{account.number}/services",
        json={"kind": "internet", "login": "petrova_home", "tariff_code": "home-100"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    line = r.json()
    assert (line["kind"], line["label"], line["tariff_code"]) == (
        "internet",
        "Интернет: petrova_home",
        "home-100",
    )
    r = await client.post(
        f"/v1/accounts/{account.number}/contracts",
        json={"number": "Д-2026/17", "signed_on": "2026-11-01"},
        headers=h,
    )
    assert r.status_code == 201
    # People type numbers with spaces; the API reads them as they are written.
    spaced = f"{account.number[:4]} {account.number[4:8]} {account.number[8:]}"
    r = await client.get(f"/v1/accounts/{spaced}", headers=auth(keys["integration"]))
    assert r.status_code == 200
    body = r.json()
    assert body["number"] == account.number
    assert body["credit_limit_minor"] == 20_000
    assert [(s["id"], s["kind"], s["tariff_code"]) for s in body["services"]] == [
        (sim.id, "mobile", None),
        (line["id"], "internet", "home-100"),
    ]
    assert body["services"][0]["label"].startswith("+7 916 ")
    assert [(c["number"], c["signed_on"]) for c in body["contracts"]] == [
        ("Д-2026/17", "2026-11-01")
    ]


# --- credit limit, status, close --------------------------------------------------------------


async def test_change_credit_limit(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    account, _ = await new_account(db, credit_limit_minor=10_000)
    url = f"/v1/accounts/{account.number}/credit-limit"
    r = await client.put(url, json={"credit_limit_minor": 25_000}, headers=auth(keys["supervisor"]))
    assert r.status_code == 200 and r.json()["credit_limit_minor"] == 25_000
    async with db.session() as s:
        event = await s.scalar(
            select(AuditEvent).where(AuditEvent.action == "account.credit_limit")
        )
        assert event is not None and event.details == {"previous": 10_000, "new": 25_000}

    before = await snapshot(db)
    for body, code in (
        ({"credit_limit_minor": 25_000.5}, "validation_error"),
        ({"credit_limit_minor": "25000"}, "validation_error"),
        ({"credit_limit_minor": None}, "validation_error"),
        ({}, "validation_error"),
        ({"credit_limit_minor": 1, "currency": "EUR"}, "currency_mismatch"),
    ):
        assert_problem(await client.put(url, json=body, headers=auth(keys["admin"])), 422, code)
    assert await snapshot(db) == before


async def test_suspend_and_reactivate_with_reason(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    account, _ = await new_account(db)
    url = f"/v1/accounts/{account.number}/status"
    h = auth(keys["clerk"])

    before = await snapshot(db)
    for body, code in (
        ({"status": "suspended"}, "validation_error"),
        ({"status": "suspended", "reason": " "}, "validation_error"),
        ({"status": "closed", "reason": "closing"}, "validation_error"),
        ({"status": "frozen", "reason": "x"}, "validation_error"),
        ({"status": "active", "reason": "already"}, "invalid_status_change"),
    ):
        assert_problem(await client.post(url, json=body, headers=h), 422, code)
    assert await snapshot(db) == before

    r = await client.post(url, json={"status": "suspended", "reason": "заявление"}, headers=h)
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["status_reason"]) == ("suspended", "заявление")
    r = await client.post(url, json={"status": "active", "reason": "вернулся"}, headers=h)
    assert r.json()["status"] == "active"
    assert (await audit_actions(db))[-2:] == ["account.suspended", "account.active"]


async def test_closed_account_keeps_its_debt(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str], clock: Any
) -> None:
    account, (sim, line) = await new_account(db, kinds=("mobile", "internet"))
    async with db.session(write=True) as s:
        await charge(s, account, 70_000, due=D(2026, 10, 15), service=line)
        await charge(s, account, 30_000, due=D(2026, 12, 15), service=sim)
        await pay(s, account, 20_000)
    h = auth(keys["supervisor"])
    before = (await client.get(f"/v1/accounts/{account.number}/statement", headers=h)).json()

    r = await client.post(
        f"/v1/accounts/{account.number}/close", json={"reason": "переезд"}, headers=h
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "closed" and body["closed_at"] is not None
    assert [s["status"] for s in body["services"]] == ["closed", "closed"]
    assert (body["balance_minor"], body["debt_minor"]) == (-80_000, 80_000)

    after = (await client.get(f"/v1/accounts/{account.number}/statement", headers=h)).json()
    assert after == {**before, "status": "closed"}
    assert after["debt_minor"] == 80_000 and after["overdue_minor"] == 50_000

    # A closed account is never reopened, nor does it take new services or credit.
    snap = await snapshot(db)
    for method, path, payload in (
        ("POST", "/status", {"status": "active", "reason": "передумал"}),
        ("POST", "/close", {"reason": "ещё раз"}),
        ("POST", "/services", {"kind": "mobile", "msisdn": "+79160001122"}),
        ("PUT", "/credit-limit", {"credit_limit_minor": 5_000}),
        ("POST", f"/services/{sim.id}/status", {"status": "active", "reason": "x"}),
    ):
        r = await client.request(
            method, f"/v1/accounts/{account.number}{path}", json=payload, headers=h
        )
        assert r.status_code == 422, (path, r.text)
        assert r.json()["code"] in ("account_closed", "invalid_status_change")
    assert await snapshot(db) == snap


# --- services and contracts -------------------------------------------------------------------


async def test_add_services_of_every_kind(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    account, _ = await new_account(db, kinds=())
    url = f"/v1/accounts/{account.number}/services"
    h = auth(keys["clerk"])
    mobile = await client.post(url, json={"kind": "mobile", "msisdn": "8 916 765-43-21"}, headers=h)
    tv = await client.post(
        url, json={"kind": "tv", "smart_card": "7500123456", "chip_id": "ab12cd"}, headers=h
    )
    assert (mobile.status_code, tv.status_code) == (201, 201)
    assert (mobile.json()["msisdn"], mobile.json()["label"]) == ("+79167654321", "+7 916 765-43-21")
    assert (tv.json()["smart_card"], tv.json()["chip_id"]) == ("7500123456", "AB12CD")
    assert (await audit_actions(db))[-2:] == ["service.add", "service.add"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "mobile", "msisdn": "+79160001111"}, 409, "msisdn_taken"),
        ({"kind": "mobile", "msisdn": "+1 212 555 0100"}, 422, "msisdn_invalid"),
        ({"kind": "mobile"}, 422, "validation_error"),
        ({"kind": "mobile", "msisdn": 79160002222}, 422, "validation_error"),
        ({"kind": "internet", "login": "has space"}, 422, "login_invalid"),
        ({"kind": "tv", "smart_card": "abc", "chip_id": "X1"}, 422, "smart_card_invalid"),
        ({"kind": "tv", "smart_card": "7500000001"}, 422, "validation_error"),
        ({"kind": "satellite", "msisdn": "+79160002222"}, 422, "validation_error"),
        (
            {"kind": "mobile", "msisdn": "+79160002222", "tariff_code": "nope"},
            404,
            "tariff_not_found",
        ),
        (
            {"kind": "mobile", "msisdn": "+79160002222", "tariff_code": "home-100"},
            422,
            "tariff_kind_mismatch",
        ),
    ],
)
async def test_bad_service_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    db: Database,
    keys: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    async with db.session(write=True) as s:
        await accounts.ensure_tariff(
            s, code="home-100", name="Дом 100", service_kind="internet", monthly_fee_minor=55_000
        )
    holder, _ = await new_account(db, kinds=())
    async with db.session(write=True) as s:
        await accounts.add_service(
            s, holder, accounts.ServiceSpec(kind="mobile", msisdn="+79160001111"), actor=ACTOR
        )
    account, _ = await new_account(db, kinds=())
    before = await snapshot(db)
    r = await client.post(
        f"/v1/accounts/{account.number}/services", json=body, headers=auth(keys["clerk"])
    )
    assert_problem(r, status, code)
    assert await snapshot(db) == before


async def test_service_status_change_is_recorded(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    account, (sim,) = await new_account(db)
    _other, (foreign,) = await new_account(db)
    h = auth(keys["clerk"])
    base = f"/v1/accounts/{account.number}/services"

    before = await snapshot(db)
    assert_problem(
        await client.post(
            f"{base}/{foreign.id}/status", json={"status": "suspended", "reason": "x"}, headers=h
        ),
        404,
        "service_not_found",
    )
    assert_problem(
        await client.post(
            f"{base}/{sim.id}/status", json={"status": "active", "reason": "x"}, headers=h
        ),
        422,
        "invalid_status_change",
    )
    assert_problem(
        await client.post(f"{base}/{sim.id}/status", json={"status": "suspended"}, headers=h),
        422,
        "validation_error",
    )
    assert await snapshot(db) == before

    r = await client.post(
        f"{base}/{sim.id}/status", json={"status": "suspended", "reason": "утерян"}, headers=h
    )
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["suspended_reason"]) == ("suspended", "staff")
    async with db.session() as s:
        [change] = list(await s.scalars(select(ServiceStatusChange)))
        assert (change.from_status, change.to_status, change.reason) == (
            "active",
            "suspended",
            "утерян",
        )
        assert change.actor.endswith(":k-clerk")


async def test_contract_add_and_refusals(
    client: httpx.AsyncClient, db: Database, keys: dict[str, str]
) -> None:
    account, _ = await new_account(db)
    other, _ = await new_account(db)
    h = auth(keys["clerk"])
    r = await client.post(
        f"/v1/accounts/{account.number}/contracts",
        json={"number": "77-001", "signed_on": "2026-11-02"},
        headers=h,
    )
    assert r.status_code == 201
    assert r.json()["number"] == "77-001"

    before = await snapshot(db)
    for body, status, code in (
        ({"number": "77-001", "signed_on": "2026-11-02"}, 409, "contract_taken"),
        ({"number": "77-002", "signed_on": 1700000000}, 422, "validation_error"),
        ({"number": "77-002", "signed_on": "02.11.2026"}, 422, "validation_error"),
        ({"number": "   ", "signed_on": "2026-11-02"}, 422, "contract_invalid"),
    ):
        r = await client.post(f"/v1/accounts/{other.number}/contracts", json=body, headers=h)
        assert_problem(r, status, code)
    assert await snapshot(db) == before
