"""/v1/me/disputes and /v1/me/requests: only one's own, evidence by content, refusals leave
nothing (no row, no file), the answers read back (both databases)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from abonent.audit import service as audit
from abonent.db.uow import Database
from abonent.disputes import evidence
from abonent.disputes import service as disputes
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.models import Account, AuditEvent, Dispute, DisputeEvidence, WrittenRequest
from abonent.requests import service as requests
from tests.cases.helpers import EXE, PDF, PNG, count, files_in, login
from tests.disputes.helpers import account_with_charges
from tests.factories import make_account

D = dt.date
SUPERVISOR = Actor("staff:2:boss", "supervisor")
CLERK = Actor("staff:1:clerk", "clerk")


def _form(account: Account, *items: int, text: str = "Не пользовался") -> dict[str, object]:
    return {"account_number": account.number, "open_item_id": [str(i) for i in items], "text": text}


async def _stranger(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    async with db.session(write=True) as s:
        other, _ = await make_account(s, full_name="Петров Пётр Петрович")
    return await login(client, db, other)


async def test_file_read_and_answer_own_dispute(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    account, _old, new = await account_with_charges(db, clock)
    me = await login(client, db, account)
    filed = await client.post(
        "/v1/me/disputes",
        headers=me,
        data=_form(account, new.id),
        files=[("files", ("check.pdf", PDF, "application/pdf")), ("files", ("a.pdf", PNG, "x/y"))],
    )
    assert filed.status_code == 201, filed.text
    body = filed.json()
    # Wednesday 18.11.2026: registered that day, by the next working day at the latest.
    assert (body["channel"], body["received_on"], body["registered_on"], body["register_by"]) == (
        "cabinet",
        "2026-11-18",
        "2026-11-18",
        "2026-11-19",
    )
    assert body["answer_due_on"] == "2026-12-18"
    # The PNG bytes named .pdf are kept as what they are.
    assert [(e["original_name"], e["media_type"]) for e in body["evidence"]] == [
        ("check.pdf", "application/pdf"),
        ("a.pdf", "image/png"),
    ]
    assert len(files_in(evidence_dir)) == 2
    dispute_id, png_id = body["id"], body["evidence"][1]["id"]
    listed = await client.get("/v1/me/disputes", headers=me)
    assert [d["id"] for d in listed.json()] == [dispute_id]
    got = await client.get(f"/v1/me/disputes/{dispute_id}/evidence/{png_id}", headers=me)
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"

    stranger = await _stranger(client, db)
    for tail in ("", f"/evidence/{png_id}"):
        theirs = await client.get(f"/v1/me/disputes/{dispute_id}{tail}", headers=stranger)
        unknown = await client.get(f"/v1/me/disputes/999999{tail}", headers=stranger)
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json()["code"] == unknown.json()["code"]
    assert (await client.get("/v1/me/disputes", headers=stranger)).json() == []
    # Another's account cannot be named to file against its charges.
    nobody = await client.post("/v1/me/disputes", headers=stranger, data=_form(account, new.id))
    assert nobody.status_code == 404 and nobody.json()["code"] == "account_not_found"
    no_files = await client.get(f"/v1/me/disputes/{dispute_id}/evidence/{png_id}")
    assert no_files.status_code == 401

    async with db.session(write=True) as s:
        await disputes.resolve(
            s,
            dispute_id,
            outcome="accept",
            reason="Списание ошибочно, частично возвращаем",
            accepted={new.id: 20_000},
            actor=SUPERVISOR,
        )
    answer = (await client.get(f"/v1/me/disputes/{dispute_id}", headers=me)).json()
    assert (answer["status"], answer["accepted_minor"], answer["resolution_text"]) == (
        "partially_accepted",
        20_000,
        "Списание ошибочно, частично возвращаем",
    )


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ([("bill.pdf", EXE)], "dispute_evidence_wrong_type"),
        ([("big.png", PNG + b"\0" * 1_000)], "dispute_evidence_too_large"),
        ([("a.png", PNG), ("b.png", PNG), ("c.png", PNG)], "dispute_evidence_too_many"),
        ([("empty.pdf", b"")], "dispute_evidence_refused"),
    ],
)
async def test_refused_files_leave_nothing(
    client: httpx.AsyncClient,
    db: Database,
    clock: FrozenClock,
    evidence_dir: Path,
    files: list[tuple[str, bytes]],
    code: str,
) -> None:
    account, _old, new = await account_with_charges(db, clock)
    me = await login(client, db, account)
    before = (await count(db, Dispute), await count(db, AuditEvent))
    refused = await client.post(
        "/v1/me/disputes",
        headers=me,
        data=_form(account, new.id),
        files=[("files", (name, content, "application/pdf")) for name, content in files],
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == code
    assert (await count(db, Dispute), await count(db, AuditEvent)) == before
    assert await count(db, DisputeEvidence) == 0
    assert files_in(evidence_dir) == []


async def test_claim_too_late_with_good_files_leaves_nothing(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    account, old, _new = await account_with_charges(db, clock)  # old billed 15.05.2026
    me = await login(client, db, account)
    refused = await client.post(
        "/v1/me/disputes",
        headers=me,
        data=_form(account, old.id),
        files=[("files", ("check.pdf", PDF, "application/pdf"))],
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "dispute_claim_too_late"
    assert refused.json()["detail"] == (
        "Претензия по начислению от 15.05.2026 принимается до 15.11.2026: срок 6 месяцев истёк."
    )
    assert (await count(db, Dispute), await count(db, DisputeEvidence)) == (0, 0)
    assert files_in(evidence_dir) == []
    for bad in (["0"], ["abc"], [str(2**63)], []):
        data = {"account_number": account.number, "text": "x", "open_item_id": bad}
        answer = await client.post("/v1/me/disputes", headers=me, data=data)
        assert answer.status_code == 422, (bad, answer.text)
    assert await count(db, Dispute) == 0


async def test_failure_after_a_file_is_written_removes_it(
    db: Database, clock: FrozenClock, evidence_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second file's audit fails: the first file (already on disk) goes too, and no row."""
    account, _old, new = await account_with_charges(db, clock)
    real = audit.record
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> None:
        if args[2] == "dispute.evidence_added":
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("disk full")
        real(*args, **kwargs)

    monkeypatch.setattr(audit, "record", failing)
    written: list[Path] = []
    with pytest.raises(RuntimeError):
        async with db.session(write=True) as s:
            fresh = await s.get_one(Account, account.id)
            await evidence.file_with_evidence(
                s,
                fresh,
                claims={new.id: None},
                text="Не звонил",
                channel="desk",
                actor=CLERK,
                files=[("a.pdf", PDF), ("b.png", PNG)],
                written=written,
            )
    assert calls["n"] == 2
    assert files_in(evidence_dir) == [] and written == []
    assert (await count(db, Dispute), await count(db, DisputeEvidence)) == (0, 0)


async def test_own_requests_and_the_statement(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _old, _new = await account_with_charges(db, clock)
    me = await login(client, db, account)
    made = await client.post(
        "/v1/me/requests",
        headers=me,
        json={"account_number": account.number, "kind": "debt_details", "text": "Прошу справку"},
    )
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert (made.json()["channel"], made.json()["due_on"]) == ("cabinet", "2026-11-28")
    wrong = await client.post(
        "/v1/me/requests",
        headers=me,
        json={"account_number": account.number, "kind": "nonsense", "text": "x"},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "request_invalid"
    assert await count(db, WrittenRequest) == 1
    early = await client.get(f"/v1/me/requests/{request_id}/statement.pdf", headers=me)
    assert early.status_code == 404 and early.json()["code"] == "request_not_found"
    async with db.session(write=True) as s:
        await requests.answer(
            s, request_id, text="Справка во вложении", attach_statement=True, actor=CLERK
        )
    got = (await client.get(f"/v1/me/requests/{request_id}", headers=me)).json()
    assert (got["status"], got["answer_text"], got["has_statement"]) == (
        "answered",
        "Справка во вложении",
        True,
    )
    assert [r["id"] for r in (await client.get("/v1/me/requests", headers=me)).json()] == [
        request_id
    ]
    pdf = await client.get(f"/v1/me/requests/{request_id}/statement.pdf", headers=me)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"Лицевой счёт {account.number}" in text and "Итого задолженность: 800,00" in text
    stranger = await _stranger(client, db)
    for url in (f"/v1/me/requests/{request_id}", f"/v1/me/requests/{request_id}/statement.pdf"):
        theirs = await client.get(url, headers=stranger)
        assert theirs.status_code == 404 and theirs.json()["code"] == "request_not_found"
    assert (await client.get("/v1/me/requests", headers=stranger)).json() == []
