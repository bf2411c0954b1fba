"""/v1/disputes over HTTP: role limits, refusals change nothing, evidence up and down."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import Dispute, DisputeEvidence, JournalEntry
from tests.disputes.helpers import account_with_charges
from tests.disputes.test_evidence import PNG
from tests.factories import api_key, auth
from tests.staff.helpers import bearer, make_staff, sign_in


async def _count(db: Database, model: type) -> int:
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def evidence_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(get_settings().disputes, "evidence_dir", str(tmp_path / "ev"))
    return tmp_path / "ev"


async def test_desk_to_decision(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    account, _old, new = await account_with_charges(db, clock)
    clerk = bearer(await sign_in(client, await make_staff(db, "clerk")))
    hotline = bearer(await sign_in(client, await make_staff(db, "hotline")))
    boss = bearer(await sign_in(client, await make_staff(db, "supervisor")))
    body = {
        "account_number": account.number,
        "items": [{"open_item_id": new.id, "amount_minor": 20_000}],
        "text": "Не пользовался",
    }
    assert (await client.post("/v1/disputes", json=body, headers=hotline)).status_code == 403
    assert (await client.post("/v1/disputes", json=body)).status_code == 401
    key = await api_key(db)
    refused = await client.post("/v1/disputes", json=body, headers=auth(key))
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.wrong_audience")
    assert await _count(db, Dispute) == 0
    filed = await client.post("/v1/disputes", json=body, headers=clerk)
    assert filed.status_code == 201, filed.text
    shown = filed.json()
    dispute_id = shown["id"]
    assert (shown["status"], shown["registered_on"], shown["answer_due_on"]) == (
        "open",
        "2026-11-18",
        "2026-12-18",
    )
    assert shown["items"] == [
        {"open_item_id": new.id, "claimed_minor": 20_000, "accepted_minor": None}
    ]
    upload = await client.post(
        f"/v1/disputes/{dispute_id}/evidence",
        files={"file": ("скан.pdf", PNG, "application/pdf")},
        headers=clerk,
    )
    assert upload.status_code == 201, upload.text
    [file] = upload.json()["evidence"]
    assert file["media_type"] == "image/png"  # by content, not by name or declared type
    wrong = await client.post(
        f"/v1/disputes/{dispute_id}/evidence",
        files={"file": ("a.pdf", b"just text", "application/pdf")},
        headers=clerk,
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "dispute_evidence_wrong_type")
    assert await _count(db, DisputeEvidence) == 1
    got = await client.get(f"/v1/disputes/{dispute_id}/evidence/{file['id']}", headers=hotline)
    assert (got.status_code, got.content, got.headers["content-type"]) == (200, PNG, "image/png")
    assert (
        await client.get(f"/v1/disputes/{dispute_id + 1}/evidence/{file['id']}", headers=boss)
    ).status_code == 404
    decision = {"outcome": "accept", "reason": "Сбой тарификации"}
    entries = await _count(db, JournalEntry)
    for who in (clerk, hotline):
        no = await client.post(f"/v1/disputes/{dispute_id}/resolution", json=decision, headers=who)
        assert no.status_code == 403
    bad = await client.post(
        f"/v1/disputes/{dispute_id}/resolution",
        json={
            "outcome": "accept",
            "reason": "x",
            "accepted": [{"open_item_id": new.id, "amount_minor": 20_001}],
        },
        headers=boss,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "dispute_invalid")
    assert await _count(db, JournalEntry) == entries
    assigned = await client.post(
        f"/v1/disputes/{dispute_id}/assign", json={"assignee": "boss"}, headers=boss
    )
    assert assigned.json()["assignee"] == "boss"
    for _ in range(2):
        done = await client.post(
            f"/v1/disputes/{dispute_id}/resolution", json=decision, headers=boss
        )
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["accepted_minor"]) == ("accepted", 20_000)
    assert await _count(db, JournalEntry) == entries + 1
    listed = await client.get("/v1/disputes?status=accepted", headers=hotline)
    assert [d["id"] for d in listed.json()] == [dispute_id]


async def test_bad_bodies_are_4xx_and_change_nothing(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, old, new = await account_with_charges(db, clock)
    clerk = bearer(await sign_in(client, await make_staff(db, "clerk")))
    clock.at = clock.at.replace(year=2026, month=11, day=16)
    for body in (
        {},
        {"account_number": account.number, "items": [], "text": "x"},
        {"account_number": "12", "items": [{"open_item_id": new.id}], "text": "x"},
        {"account_number": account.number, "items": [{"open_item_id": 2**70}], "text": "x"},
        {
            "account_number": account.number,
            "items": [{"open_item_id": new.id}, {"open_item_id": new.id}],
            "text": "x",
        },
        {"account_number": account.number, "items": [{"open_item_id": old.id}], "text": "x"},
        {"account_number": account.number, "items": [{"open_item_id": new.id}], "text": "\u0000"},
    ):
        response = await client.post("/v1/disputes", json=body, headers=clerk)
        assert 400 <= response.status_code < 500, (body, response.text)
    too_late = await client.post(
        "/v1/disputes",
        json={"account_number": account.number, "items": [{"open_item_id": old.id}], "text": "x"},
        headers=clerk,
    )
    assert too_late.json()["code"] == "dispute_claim_too_late"
    assert "15.11.2026" in too_late.json()["detail"]
    assert await _count(db, Dispute) == 0
    assert (await client.get("/v1/disputes/999", headers=clerk)).status_code == 404
    assert (await client.get("/v1/disputes/abc", headers=clerk)).status_code == 422
