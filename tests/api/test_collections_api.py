"""``/v1/collections`` and ``/v1/court`` under the role rules: each refusal changes nothing."""

from __future__ import annotations

import datetime as dt
import io

import httpx
from pypdf import PdfReader
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import (
    AuditEvent,
    CollectionAgency,
    CollectionAssignment,
    CourtCase,
    JournalEntry,
    WriteOffRequest,
)
from abonent.payments.agents import service as payment_agents
from tests.factories import ACTOR, api_key, auth, charge, make_account
from tests.staff.helpers import bearer, make_staff, sign_in

D = dt.date


async def _counts(db: Database) -> tuple[int, ...]:
    async with db.session() as s:
        return tuple(
            [
                await s.scalar(select(func.count()).select_from(t)) or 0
                for t in (
                    CollectionAgency,
                    CollectionAssignment,
                    WriteOffRequest,
                    CourtCase,
                    JournalEntry,
                    AuditEvent,
                )
            ]
        )


async def test_the_whole_path_over_the_api(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 90_000, due=D(2026, 9, 10), service=sim)
        await charge(s, account, 10_000, due=D(2026, 12, 10), service=sim)
        await payment_agents.create_agent(
            s, code="AGENCY1", password="agency-secret-1", allowed_ips=["127.0.0.1"], actor=ACTOR
        )
    officer = bearer(await sign_in(client, await make_staff(db, "collections", "olga")))
    boss = bearer(await sign_in(client, await make_staff(db, "supervisor", "boss")))
    hotline = bearer(await sign_in(client, await make_staff(db, "hotline", "ivan")))

    made = await client.post(
        "/v1/collections/agencies",
        json={
            "name": "Долг-Контроль",
            "inn": "7707083893",
            "commission_bp": 1500,
            "export_format": "xlsx",
        },
        headers=officer,
    )
    assert made.status_code == 201, made.text
    agency = made.json()["id"]
    linked = await client.put(
        f"/v1/collections/agencies/{agency}/agent", json={"agent_code": "AGENCY1"}, headers=officer
    )
    assert linked.status_code == 200 and linked.json()["agent_id"] is not None
    handed = await client.post(
        "/v1/collections/assignments",
        json={"account_number": account.number, "agency_id": agency},
        headers=officer,
    )
    assert handed.status_code == 200, handed.text
    assert handed.json()["amount_minor"] == 90_000 and handed.json()["created"] is True
    assignment = handed.json()["id"]
    exported = await client.get(f"/v1/collections/assignments/{assignment}/export", headers=officer)
    assert exported.status_code == 200 and exported.content.startswith(b"PK")  # an XLSX is a zip

    series = await client.get("/v1/collections/dashboards/agencies", headers=officer)
    assert series.status_code == 200
    assert series.json()["rows"] == [
        {"label": "Долг-Контроль", "amount_minor": 90_000, "count": 1, "extra_minor": 90_000}
    ]
    report = await client.get(
        f"/v1/collections/agencies/{agency}/commission?from=2026-11-01&to=2026-11-30",
        headers=officer,
    )
    assert report.status_code == 200 and report.json()["commission_minor"] == 0

    # The court needs the agency stage over: refused while the agency holds the debt.
    before = await _counts(db)
    held = await client.post(
        "/v1/court/cases",
        json={"account_number": account.number, "as_of": "2026-11-18"},
        headers=officer,
    )
    assert held.status_code == 422 and held.json()["code"] == "court_agency_stage_active"
    assert held.json()["assignment_ids"] == [assignment]
    assert await _counts(db) == before
    recalled = await client.post(
        f"/v1/collections/assignments/{assignment}/recall", headers=officer
    )
    assert recalled.status_code == 200, recalled.text

    case = await client.post(
        "/v1/court/cases",
        json={"account_number": account.number, "as_of": "2026-11-18"},
        headers=officer,
    )
    assert case.status_code == 201, case.text
    assert case.json()["claim_minor"] == 90_000 and case.json()["fee_minor"] == 200_000
    case_id = case.json()["id"]
    pdf = await client.get(f"/v1/court/cases/{case_id}/application.pdf", headers=officer)
    assert pdf.status_code == 200
    assert "Заявление о вынесении судебного приказа" in (
        PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text() or ""
    )
    filed = await client.post(
        f"/v1/court/cases/{case_id}/stages",
        json={"stage": "filed", "on": "2026-11-19"},
        headers=officer,
    )
    assert filed.status_code == 200 and [x["stage"] for x in filed.json()["stages"]] == [
        "prepared",
        "filed",
    ]

    requested = await client.post(
        "/v1/collections/write-offs",
        json={"account_number": account.number, "reason": "безнадёжный долг"},
        headers=officer,
    )
    assert requested.status_code == 201, requested.text
    request_id = requested.json()["id"]
    before = await _counts(db)
    for path, body, who, status in [
        (f"/v1/collections/write-offs/{request_id}/approve", None, officer, 403),
        (f"/v1/collections/write-offs/{request_id}/approve", None, hotline, 403),
        ("/v1/court/cases", {"account_number": account.number}, officer, 409),
        (f"/v1/court/cases/{case_id}/stages", {"stage": "enforced"}, officer, 409),
        (f"/v1/court/cases/{case_id}/stages", {"stage": "bogus"}, officer, 422),
        ("/v1/court/cases", {"account_number": account.number}, hotline, 403),
        ("/v1/collections/agencies", {"name": "X", "inn": "7707083894"}, officer, 422),
        ("/v1/collections/agencies", {"name": "X", "inn": "7707083893"}, hotline, 403),
        ("/v1/collections/assignments", {"account_number": "1", "agency_id": agency}, officer, 422),
    ]:
        refused = await client.post(path, json=body, headers=who)
        assert refused.status_code == status, (path, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert await _counts(db) == before

    approved = await client.post(f"/v1/collections/write-offs/{request_id}/approve", headers=boss)
    assert approved.status_code == 200 and approved.json()["entry_id"] is not None
    twice = await client.post(f"/v1/collections/write-offs/{request_id}/approve", headers=boss)
    assert twice.json()["entry_id"] == approved.json()["entry_id"]


async def test_not_found_and_wrong_audience(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    officer = bearer(await sign_in(client, await make_staff(db, "collections")))
    key = auth(await api_key(db, "admin"))
    for path in (
        "/v1/court/cases/999999",
        "/v1/court/cases/999999/application.pdf",
        "/v1/collections/assignments/999999/export",
        "/v1/collections/dashboards/nothing",
        "/v1/collections/agencies/999999/commission?from=2026-11-01&to=2026-11-02",
    ):
        missing = await client.get(path, headers=officer)
        assert missing.status_code == 404, (path, missing.text)
    for headers in ({}, key):
        refused = await client.get("/v1/collections/agencies", headers=headers)
        assert refused.status_code in (401, 403), refused.text
    backwards = await client.get(
        "/v1/collections/agencies/1/commission?from=2026-11-02&to=2026-11-01", headers=officer
    )
    assert backwards.status_code in (404, 422)
    edge = await client.get(
        "/v1/collections/agencies/1/commission?from=9999-12-31&to=9999-12-31", headers=officer
    )
    assert edge.status_code in (404, 422)
