"""``/v1/collections/write-offs``: the list, the supervisor's approval and rejection; every refusal
is a problem with its stable code and changes nothing."""

from __future__ import annotations

import datetime as dt

import httpx

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from tests.collections.write_off_helpers import ladder_proposals, snapshot
from tests.staff.helpers import bearer, make_staff, sign_in

TODAY = dt.date(2026, 11, 18)
BASE = "/v1/collections/write-offs"


async def test_list_reject_approve_and_every_refusal(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    first, second = await ladder_proposals(db, TODAY)
    boss_staff = await make_staff(db, "supervisor", "boss")
    boss = bearer(await sign_in(client, boss_staff))
    officer = bearer(await sign_in(client, await make_staff(db, "collections", "olga")))
    hotline = bearer(await sign_in(client, await make_staff(db, "hotline", "ivan")))
    admin = bearer(await sign_in(client, await make_staff(db, "admin", "root")))

    listed = await client.get(f"{BASE}?status=pending", headers=officer)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [(w["id"], w["status"], w["account_number"], w["amount_minor"]) for w in body] == [
        (first.request_id, "pending", first.number, 45_000),
        (second.request_id, "pending", second.number, 80_000),
    ]
    assert body[0]["requested_by"] == "system:dunning"
    assert body[0]["requested_at"] == "2026-11-18T12:00:00Z"
    assert [(i["service_kind"], i["covered_minor"]) for i in body[0]["items"]] == [
        ("mobile", 30_000),
        ("mobile", 15_000),
    ]
    assert (body[1]["debt_minor"], body[1]["covered_minor"], body[1]["currency"]) == (
        80_000,
        80_000,
        "RUB",
    )
    assert (await client.get(BASE, headers=admin)).status_code == 200

    before = await snapshot(db)
    reject = f"{BASE}/{first.request_id}/reject"
    approve = f"{BASE}/{first.request_id}/approve"
    for method, path, body_json, who, status, code in [
        ("GET", BASE, None, hotline, 403, "staff.role_forbidden"),
        ("GET", f"{BASE}?status=requested", None, boss, 422, "validation_error"),
        ("GET", f"{BASE}?limit=0", None, boss, 422, "validation_error"),
        ("POST", approve, None, admin, 403, "staff.role_forbidden"),
        ("POST", approve, None, officer, 403, "staff.role_forbidden"),
        ("POST", approve, None, hotline, 403, "staff.role_forbidden"),
        ("POST", reject, {"reason": "нет"}, admin, 403, "staff.role_forbidden"),
        ("POST", reject, {"reason": "нет"}, officer, 403, "staff.role_forbidden"),
        ("POST", reject, {"reason": "нет"}, hotline, 403, "staff.role_forbidden"),
        ("POST", f"{BASE}/999999/reject", {"reason": "нет"}, boss, 404, "write_off_not_found"),
        ("POST", f"{BASE}/999999/approve", None, boss, 404, "write_off_not_found"),
        ("POST", reject, {}, boss, 422, "validation_error"),
        ("POST", reject, {"reason": ""}, boss, 422, "validation_error"),
        ("POST", reject, {"reason": "   "}, boss, 422, "validation_error"),
        ("POST", reject, {"reason": "x" * 501}, boss, 422, "validation_error"),
        ("POST", reject, {"reason": "нет\u0000"}, boss, 422, "validation_error"),
        ("POST", reject, {"reason": "две\nстроки"}, boss, 422, "validation_error"),
        ("POST", reject, None, {}, 401, "auth.not_authenticated"),
    ]:
        refused = await client.request(method, path, json=body_json, headers=who)
        assert refused.status_code == status, (path, body_json, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == code, (path, refused.text)
    assert await snapshot(db) == before

    done = await client.post(reject, json={"reason": "Рассрочка до марта"}, headers=boss)
    assert done.status_code == 200, done.text
    out = done.json()
    assert (out["status"], out["decided_by"], out["rejection_reason"], out["entry_id"]) == (
        "rejected",
        f"staff:{boss_staff.staff_id}:boss",
        "Рассрочка до марта",
        None,
    )
    assert out["debt_minor"] == 45_000 and out["decided_at"] == "2026-11-18T12:00:00Z"
    approved = await client.post(f"{BASE}/{second.request_id}/approve", headers=boss)
    assert approved.status_code == 200 and approved.json()["entry_id"] is not None

    decided = await snapshot(db)
    for path, body_json in [
        (approve, None),
        (reject, {"reason": "ещё раз"}),
        (f"{BASE}/{second.request_id}/reject", {"reason": "поздно"}),
    ]:
        refused = await client.post(path, json=body_json, headers=boss)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "write_off_decided"
    assert await snapshot(db) == decided

    shown = (await client.get(f"{BASE}?status=approved", headers=officer)).json()
    assert [(w["id"], w["debt_minor"], w["covered_minor"], w["decided_by"]) for w in shown] == [
        (second.request_id, 0, 80_000, f"staff:{boss_staff.staff_id}:boss")
    ]
    rejected = (await client.get(f"{BASE}?status=rejected", headers=officer)).json()
    assert [(w["id"], w["rejection_reason"]) for w in rejected] == [
        (first.request_id, "Рассрочка до марта")
    ]
    assert (await client.get(f"{BASE}?status=pending", headers=officer)).json() == []


async def test_the_openapi_documents_the_routes_and_their_refusals(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    listing = paths[BASE]["get"]
    assert {"200", "401", "403", "422"} <= set(listing["responses"])
    status = next(p for p in listing["parameters"] if p["name"] == "status")
    assert status["schema"]["anyOf"][0]["pattern"] == "^(pending|approved|rejected)$"
    reject = paths[BASE + "/{request_id}/reject"]["post"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(reject["responses"])
    assert "write_off_decided" in reject["responses"]["409"]["description"]
    approve = paths[BASE + "/{request_id}/approve"]["post"]
    assert "write_off_decided" in approve["responses"]["409"]["description"]
