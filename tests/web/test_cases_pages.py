"""Console and cabinet pages of written requests and claims, over HTTP (both databases).

A clerk files a claim with a file for a checked person, a supervisor accepts it in part (the
balance shows the credit, written once); a refused file changes nothing; a subscriber files a
request and a claim in the cabinet and reads the answer and the statement."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from abonent.app import create_app
from abonent.collections import service as collections
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.ledger.dispute_credit import DISPUTE_CREDIT
from abonent.models import (
    Account,
    Dispute,
    DisputeEvidence,
    JournalEntry,
    OpenItem,
    OutboxMessage,
    WrittenRequest,
)
from abonent.requests import service as requests
from tests.api.helpers import snapshot
from tests.cases.helpers import EXE, PDF, PNG, msisdn_of
from tests.disputes.helpers import account_with_charges
from tests.factories import charge, make_account
from tests.staff.helpers import make_staff
from tests.web.console_helpers import check_identity, console_sign_in, csrf_of, make_person
from tests.web.test_cabinet_login import login as cabinet_login

CLERK = Actor("staff:1:clerk", "clerk")


@pytest.fixture
def evidence_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(get_settings().disputes, "evidence_dir", str(tmp_path / "evidence"))
    return tmp_path / "evidence"


def _client(db: Database, port: int) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(db), client=("127.0.0.1", port))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _count(db: Database, model: type, *where: object) -> int:
    async with db.session() as s:
        query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int(await s.scalar(query) or 0)


def _files(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


async def test_desk_claim_with_file_accepted_in_part(
    db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    person = await make_person(db)
    clerk, boss, hotline = (
        await make_staff(db, "clerk"),
        await make_staff(db, "supervisor"),
        await make_staff(db, "hotline"),
    )
    async with _client(db, 50011) as desk:
        csrf = await console_sign_in(desk, clerk)
        assert (await check_identity(desk, person, csrf)).status_code in (200, 303)
        form = await desk.get(f"/console/people/{person.id}/disputes/new")
        assert form.status_code == 200, form.text
        async with db.session() as s:
            item = await s.scalar(
                select(OpenItem).where(OpenItem.amount_minor == 45_000, OpenItem.side == "debit")
            )
        assert item is not None
        assert f'value="{item.id}"' in form.text
        before = await snapshot(db)
        wrong = await desk.post(
            f"/console/people/{person.id}/disputes",
            data={
                "csrf_token": csrf_of(form.text),
                "account_number": person.mobile_number,
                "open_item_id": str(item.id),
                "text": "Не звонил",
            },
            files={"files": ("bill.pdf", EXE, "application/pdf")},
        )
        assert wrong.status_code == 422 and "dispute_evidence_wrong_type" in wrong.text
        assert await snapshot(db) == before and _files(evidence_dir) == []
        filed = await desk.post(
            f"/console/people/{person.id}/disputes",
            data={
                "csrf_token": csrf_of(form.text),
                "account_number": person.mobile_number,
                "open_item_id": str(item.id),
                "text": "Не звонил в эти дни",
            },
            files={"files": ("check.png", PNG, "image/png")},
        )
        assert filed.status_code == 303, filed.text
        page_url = filed.headers["location"]
        dispute_id = int(page_url.rsplit("/", 1)[1])
        page = await desk.get(page_url)
        assert "check.png" in page.text and "-570,00" in page.text.replace("\u00a0", " ")
        assert 'data-test="resolve"' not in page.text  # a clerk does not decide
        evidence_url = re.search(r'href="(/console/disputes/\d+/evidence/\d+)"', page.text)
        assert evidence_url is not None
        got = await desk.get(evidence_url.group(1))
        assert got.status_code == 200 and got.content == PNG
        refused = await desk.post(
            f"/console/disputes/{dispute_id}/resolution",
            data={"csrf_token": csrf_of(page.text), "outcome": "reject", "reason": "нет"},
        )
        assert refused.status_code == 403
    async with _client(db, 50012) as line:
        await console_sign_in(line, hotline)
        assert (await line.get(page_url)).status_code == 200
        assert (await line.get("/console/deadlines")).status_code == 403
    async with _client(db, 50013) as sup:
        await console_sign_in(sup, boss)
        queue = await sup.get("/console/disputes")
        assert f'data-id="{dispute_id}"' in queue.text
        page = await sup.get(page_url)
        bad = await sup.post(
            f"/console/disputes/{dispute_id}/resolution",
            data={
                "csrf_token": csrf_of(page.text),
                "outcome": "accept",
                "reason": "Частично",
                f"accept_{item.id}": "500,00",
            },
        )
        assert bad.status_code == 422 and "dispute_invalid" in bad.text
        for _ in range(2):
            done = await sup.post(
                f"/console/disputes/{dispute_id}/resolution",
                data={
                    "csrf_token": csrf_of(page.text),
                    "outcome": "accept",
                    "reason": "Два звонка списаны ошибочно",
                    f"accept_{item.id}": "150,00",
                },
            )
            assert done.status_code == 303, done.text
        after = (await sup.get(page_url)).text.replace("\u00a0", " ")
        assert "удовлетворена частично" in after and "-420,00" in after
        assert (await sup.get("/console/deadlines")).status_code == 200
    assert await _count(db, JournalEntry, JournalEntry.kind == DISPUTE_CREDIT) == 1
    assert await _count(db, Dispute, Dispute.status == "partially_accepted") == 1
    assert await _count(db, DisputeEvidence) == 1 and len(_files(evidence_dir)) == 1


async def test_cabinet_request_answered_with_statement_and_claim(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    account, _old, new = await account_with_charges(db, clock)
    msisdn = await msisdn_of(db, account)
    assert (await cabinet_login(client, db, msisdn)).status_code == 303
    index = await client.get("/cabinet/cases")
    assert index.status_code == 200 and "Мои обращения" in index.text
    form = await client.get("/cabinet/cases/requests/new")
    made = await client.post(
        "/cabinet/cases/requests",
        data={
            "csrf_token": csrf_of(form.text),
            "account_number": account.number,
            "kind": "debt_details",
            "text": "Прошу расшифровку долга",
        },
    )
    assert made.status_code == 303, made.text
    request_url = made.headers["location"]
    request_id = int(request_url.rsplit("/", 1)[1])
    async with db.session(write=True) as s:
        await requests.answer(
            s, request_id, text="Справка во вложении", attach_statement=True, actor=CLERK
        )
    assert await _count(db, OutboxMessage, OutboxMessage.dedupe_key == f"sms:request:{request_id}")
    page = await client.get(request_url)
    assert "Справка во вложении" in page.text and "Ответ готов" in page.text
    pdf = await client.get(f"{request_url}/statement.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"Лицевой счёт {account.number}" in text
    client.cookies.set("lang", "en")
    english = await client.get(request_url)
    assert english.status_code == 200 and "Answer ready" in english.text
    assert "Debt details across all accounts" in english.text
    client.cookies.set("lang", "ru")

    claim_form = await client.get("/cabinet/cases/disputes/new")
    assert f'value="{new.id}"' in claim_form.text
    refused = await client.post(
        "/cabinet/cases/disputes",
        data={
            "csrf_token": csrf_of(claim_form.text),
            "account_number": account.number,
            "open_item_id": str(new.id),
            "text": "Не пользовался",
        },
        files={"files": ("a.pdf", EXE, "application/pdf")},
    )
    assert refused.status_code == 422 and "PDF, JPEG" in refused.text
    assert await _count(db, Dispute) == 0 and _files(evidence_dir) == []
    filed = await client.post(
        "/cabinet/cases/disputes",
        data={
            "csrf_token": csrf_of(claim_form.text),
            "account_number": account.number,
            "open_item_id": str(new.id),
            "text": "Не пользовался",
        },
        files={"files": ("a.pdf", PDF, "application/pdf")},
    )
    assert filed.status_code == 303, filed.text
    shown = await client.get(filed.headers["location"])
    assert "На рассмотрении" in shown.text and "a.pdf" in shown.text
    assert await _count(db, WrittenRequest) == 1


# Every console page of this package and the roles that may use it.
READ = ("clerk", "hotline", "collections", "supervisor", "admin")
DESK = ("clerk", "supervisor")
ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/console/requests"): READ,
    ("GET", "/console/requests/1"): READ,
    ("POST", "/console/requests/1/assign"): ("supervisor",),
    ("POST", "/console/requests/1/answer"): DESK,
    ("GET", "/console/requests/1/statement.pdf"): READ,
    ("GET", "/console/disputes"): READ,
    ("GET", "/console/disputes/1"): READ,
    ("GET", "/console/disputes/1/evidence/1"): READ,
    ("POST", "/console/disputes/1/assign"): ("supervisor",),
    ("POST", "/console/disputes/1/resolution"): ("supervisor",),
    ("GET", "/console/deadlines"): ("supervisor",),
    ("GET", "/console/people/{person}/disputes/new"): DESK,
    ("POST", "/console/people/{person}/disputes"): DESK,
    ("GET", "/console/people/{person}/requests/new"): DESK,
    ("POST", "/console/people/{person}/requests"): DESK,
}


async def test_console_pages_need_a_session_and_the_role(
    db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    person = await make_person(db)
    async with _client(db, 50021) as anonymous:
        for method, path in ROUTES:
            url = path.replace("{person}", str(person.id))
            answer = await anonymous.request(method, url)
            assert answer.status_code == 303, (method, url)
            assert answer.headers["location"].startswith("/console/login?next=/console")
    clients = {}
    for port, role in enumerate(READ, start=50022):
        client = _client(db, port)
        clients[role] = (client, await console_sign_in(client, await make_staff(db, role)))
    before = await snapshot(db)
    refused = 0
    try:
        for role, (client, csrf) in clients.items():
            for (method, path), roles in ROUTES.items():
                if role in roles:
                    continue
                url = path.replace("{person}", str(person.id))
                data = {"csrf_token": csrf, "text": "x", "outcome": "reject", "reason": "x"}
                answer = await client.request(method, url, data=data if method == "POST" else None)
                assert answer.status_code == 403, (role, method, url, answer.status_code)
                refused += 1
    finally:
        for client, _csrf in clients.values():
            await client.aclose()
    assert refused >= 20
    assert await snapshot(db) == before


async def test_console_request_from_the_desk_to_the_answer(
    db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    person = await make_person(db)
    clerk, boss = await make_staff(db, "clerk"), await make_staff(db, "supervisor")
    async with _client(db, 50021) as desk:
        csrf = await console_sign_in(desk, clerk)
        assert (await check_identity(desk, person, csrf)).status_code in (200, 303)
        form = await desk.get(f"/console/people/{person.id}/requests/new")
        assert form.status_code == 200 and "Расшифровка долга" in form.text
        token = csrf_of(form.text)
        before = await _count(db, WrittenRequest)
        bad = await desk.post(
            f"/console/people/{person.id}/requests",
            data={
                "csrf_token": token,
                "account_number": person.mobile_number,
                "kind": "x",
                "text": "",
            },
        )
        assert bad.status_code in (403, 404, 422) and await _count(db, WrittenRequest) == before
        made = await desk.post(
            f"/console/people/{person.id}/requests",
            data={
                "csrf_token": token,
                "account_number": person.mobile_number,
                "kind": "debt_details",
                "text": "Прошу расшифровку долга по всем SIM-картам",
            },
        )
        assert made.status_code == 303, made.text
        request_url = made.headers["location"]
        request_id = int(request_url.rsplit("/", 1)[1])
        queue = await desk.get("/console/requests")
        assert queue.status_code == 200 and request_url in queue.text
        page = await desk.get(request_url)
        assert page.status_code == 200 and "Прошу расшифровку" in page.text
        token = csrf_of(page.text)
        no_pdf = await desk.get(f"{request_url}/statement.pdf")
        assert no_pdf.status_code == 404  # nothing attached yet
        assigned = await desk.post(
            f"{request_url}/assign", data={"csrf_token": token, "assignee": "clerk1"}
        )
        assert assigned.status_code in (303, 403), assigned.text
        empty = await desk.post(f"{request_url}/answer", data={"csrf_token": token, "text": ""})
        assert empty.status_code in (403, 422)
        sms_before = await _count(db, OutboxMessage, OutboxMessage.topic == "sms.send")
    async with _client(db, 50022) as sup:
        await console_sign_in(sup, boss)
        page = await sup.get(request_url)
        token = csrf_of(page.text)
        assert (
            await sup.post(f"{request_url}/assign", data={"csrf_token": token, "assignee": "boss"})
        ).status_code == 303
        answered = await sup.post(
            f"{request_url}/answer",
            data={
                "csrf_token": token,
                "text": "Расшифровка долга приложена.",
                "attach_statement": "on",
            },
        )
        assert answered.status_code == 303, answered.text
        pdf = await sup.get(f"{request_url}/statement.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        text = " ".join((PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text() or "").split())
        assert "Справка о задолженности" in text
        deadlines = await sup.get("/console/deadlines")
        assert deadlines.status_code == 200
        missing = await sup.get("/console/requests/999999")
        assert missing.status_code == 404
    async with db.session() as s:
        found = await s.get_one(WrittenRequest, request_id)
        assert found.status == "answered"
    assert await _count(db, OutboxMessage, OutboxMessage.topic == "sms.send") == sms_before + 1


async def test_deadlines_show_the_handover_notices_not_yet_sent(
    db: Database, clock: FrozenClock
) -> None:
    # NOW is 18.11.2026: a notice of 01.10 was due 13.11 (overdue), one of 08.10 is due 20.11
    # (near), one of today is weeks away, and one already sent owes nothing.
    staff = Actor("staff:anna", "collections")
    handed: dict[str, int] = {}
    async with db.session(write=True) as s:
        agency = await collections.add_agency(
            s, name="ООО «Возврат»", inn="7707083893", actor=staff
        )
        for name, day in (("late", 1), ("near", 8), ("far", 48), ("sent", 2)):
            account, _ = await make_account(s)
            await charge(s, account, 10_000, due=dt.date(2026, 9, 1))
            fresh = await s.get_one(Account, account.id)
            done = await collections.handover(
                s,
                fresh,
                agency.id,
                actor=staff,
                as_of=dt.date(2026, 9, 30) + dt.timedelta(days=day),
            )
            handed[name] = done.assignment.id
        await collections.set_notice_status(s, handed["sent"], "sent", actor=staff)
    boss = await make_staff(db, "supervisor")
    async with _client(db, 50021) as sup:
        await console_sign_in(sup, boss)
        page = await sup.get("/console/deadlines")
    assert page.status_code == 200
    rows = re.findall(r'data-test="handover-notice" data-id="(\d+)"( class="overdue")?', page.text)
    assert rows == [(str(handed["late"]), ' class="overdue"'), (str(handed["near"]), "")]
    assert "13.11.2026" in page.text and "просрочено на 5" in page.text
