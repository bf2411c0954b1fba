"""/v1/requests over HTTP: role limits, the queue, the answer's statement PDF."""

from __future__ import annotations

import io

import httpx
from pypdf import PdfReader
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import WrittenRequest
from tests.disputes.helpers import account_with_charges
from tests.staff.helpers import bearer, make_staff, sign_in


async def test_desk_request_answered_with_statement(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _old, _new = await account_with_charges(db, clock)
    clerk = bearer(await sign_in(client, await make_staff(db, "clerk")))
    hotline = bearer(await sign_in(client, await make_staff(db, "hotline")))
    boss = bearer(await sign_in(client, await make_staff(db, "supervisor")))
    body = {"account_number": account.number, "kind": "debt_details", "text": "Расшифровка"}
    assert (await client.post("/v1/requests", json=body, headers=hotline)).status_code == 403
    for bad in ({**body, "kind": "nope"}, {**body, "text": ""}, {**body, "account_number": "1"}):
        response = await client.post("/v1/requests", json=bad, headers=clerk)
        assert 400 <= response.status_code < 500, response.text
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(WrittenRequest)) == 0
    made = await client.post("/v1/requests", json=body, headers=clerk)
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert made.json()["due_on"] == "2026-11-28"
    assign = {"assignee": "clerk1"}
    url = f"/v1/requests/{request_id}"
    assert (await client.post(f"{url}/assign", json=assign, headers=clerk)).status_code == 403
    assert (await client.post(f"{url}/assign", json=assign, headers=boss)).status_code == 200
    queue = await client.get("/v1/requests?assignee=clerk1&status=open", headers=hotline)
    assert [r["id"] for r in queue.json()] == [request_id]
    answer = {"text": "Справка приложена"}
    assert (await client.post(f"{url}/answer", json=answer, headers=hotline)).status_code == 403
    done = await client.post(f"{url}/answer", json=answer, headers=clerk)
    assert (done.status_code, done.json()["status"], done.json()["has_statement"]) == (
        200,
        "answered",
        True,
    )
    again = await client.post(f"{url}/answer", json=answer, headers=clerk)
    assert (again.status_code, again.json()["code"]) == (409, "request_already_answered")
    pdf = await client.get(f"{url}/statement.pdf", headers=hotline)
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"Лицевой счёт {account.number}" in text
    assert "Задолженность: 800,00" in text and "Итого задолженность: 800,00" in text
    assert (await client.get("/v1/requests/999", headers=clerk)).status_code == 404
