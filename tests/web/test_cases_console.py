"""The console's requests and claims pages as clerks and supervisors use them, and every refusal
they can meet: a page in Russian with its stable code, the right status, and the database (and
the evidence directory) exactly as before (both databases).

tests/web/test_cases_pages.py walks the happy paths end to end; this file is the refusals, the
filters, assignment, rejection and the deadlines list.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from abonent.app import create_app
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.disputes import evidence as evidence_service
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
from tests.cases.helpers import PNG, files_in
from tests.disputes.helpers import account_with_charges
from tests.factories import make_account
from tests.staff.helpers import make_staff
from tests.web.console_helpers import check_identity, console_sign_in, csrf_of, make_person

CLERK = Actor("staff:1:clerk", "clerk")


@pytest.fixture
def evidence_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(get_settings().disputes, "evidence_dir", str(tmp_path / "evidence"))
    return tmp_path / "evidence"


def _client(db: Database, port: int) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(db), client=("127.0.0.1", port))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def refused(response: httpx.Response, status: int, code: str, words: str | None = None) -> None:
    """The console's refusal page: the status, the code, and that nothing was changed."""
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert f"<code>{code}</code>" in response.text, response.text[:2000]
    assert "Ничего не изменено" in response.text
    if words is not None:
        assert words in response.text


async def _item(db: Database, account_id: int, amount_minor: int) -> OpenItem:
    async with db.session() as s:
        item = await s.scalar(
            select(OpenItem).where(
                OpenItem.account_id == account_id,
                OpenItem.amount_minor == amount_minor,
                OpenItem.side == "debit",
            )
        )
    assert item is not None
    return item


async def _claim(db: Database, account_id: int, item_id: int, *, with_file: bool) -> Dispute:
    written: list[Path] = []

    async def work(s):  # type: ignore[no-untyped-def]
        account = await s.get_one(Account, account_id)
        return await evidence_service.file_with_evidence(
            s,
            account,
            claims={item_id: None},
            text="Не пользовался роумингом",
            channel="desk",
            actor=CLERK,
            files=[("check.png", PNG)] if with_file else [],
            written=written,
        )

    dispute: Dispute = await db.run(work)
    return dispute


async def _evidence_of(db: Database, dispute_id: int) -> int:
    async with db.session() as s:
        found = await s.scalar(
            select(DisputeEvidence.id).where(DisputeEvidence.dispute_id == dispute_id)
        )
    assert found is not None
    return int(found)


async def _credits(db: Database) -> int:
    async with db.session() as s:
        rows = await s.scalars(select(JournalEntry.id).where(JournalEntry.kind == DISPUTE_CREDIT))
        return len(list(rows))


async def _account_id(db: Database, number: str) -> int:
    async with db.session() as s:
        found = await s.scalar(select(Account.id).where(Account.number == number))
    assert found is not None
    return int(found)


async def test_desk_forms_need_an_identity_check_first(
    db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    person = await make_person(db)
    item = await _item(db, await _account_id(db, person.mobile_number), 45_000)
    clerk = await make_staff(db, "clerk")
    async with _client(db, 50031) as desk:
        csrf = await console_sign_in(desk, clerk)
        before = await snapshot(db)
        for form in ("disputes/new", "requests/new"):
            page = await desk.get(f"/console/people/{person.id}/{form}")
            # In the clerk's words, not the service's English detail.
            refused(page, 403, "people.check_required", "Сначала проверьте документ абонента")
            assert "pass an identity check" not in page.text
            assert f"/console/people/{person.id}/check" in page.text  # the way back
        made = await desk.post(
            f"/console/people/{person.id}/requests",
            data={
                "csrf_token": csrf,
                "account_number": person.mobile_number,
                "kind": "debt_details",
                "text": "Прошу расшифровку",
            },
        )
        refused(made, 403, "people.check_required")
        filed = await desk.post(
            f"/console/people/{person.id}/disputes",
            data={
                "csrf_token": csrf,
                "account_number": person.mobile_number,
                "open_item_id": str(item.id),
                "text": "Не звонил",
            },
            files={"files": ("check.png", PNG, "image/png")},
        )
        refused(filed, 403, "people.check_required")
    assert await snapshot(db) == before
    assert files_in(evidence_dir) == []


async def test_desk_refuses_what_is_not_the_persons_or_not_a_claim(
    db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    person = await make_person(db)
    item = await _item(db, await _account_id(db, person.mobile_number), 45_000)
    async with db.session(write=True) as s:
        stranger, _ = await make_account(s)
    clerk = await make_staff(db, "clerk")
    async with _client(db, 50032) as desk:
        csrf = await console_sign_in(desk, clerk)
        assert (await check_identity(desk, person, csrf)).status_code in (200, 303)
        form = await desk.get(f"/console/people/{person.id}/disputes/new")
        assert form.status_code == 200 and f'value="{item.id}"' in form.text
        token = csrf_of(form.text)
        before = await snapshot(db)
        claim = {"csrf_token": token, "open_item_id": str(item.id), "text": "Не звонил"}

        not_theirs = await desk.post(
            f"/console/people/{person.id}/requests",
            data={
                "csrf_token": token,
                "account_number": stranger.number,
                "kind": "debt_details",
                "text": "Прошу расшифровку",
            },
        )
        refused(not_theirs, 404, "people.account_not_theirs")
        claim_not_theirs = await desk.post(
            f"/console/people/{person.id}/disputes",
            data={**claim, "account_number": stranger.number},
        )
        refused(claim_not_theirs, 404, "people.account_not_theirs")

        nothing_ticked = await desk.post(
            f"/console/people/{person.id}/disputes",
            data={**claim, "account_number": person.mobile_number, "open_item_id": "0"},
        )
        refused(nothing_ticked, 422, "dispute_invalid", "Укажите оспариваемые начисления.")
        assert f"/console/people/{person.id}/disputes/new" in nothing_ticked.text

        limit = get_settings().disputes.evidence_max_files
        too_many = await desk.post(
            f"/console/people/{person.id}/disputes",
            data={**claim, "account_number": person.mobile_number},
            files=[("files", (f"p{n}.png", PNG, "image/png")) for n in range(limit + 1)],
        )
        refused(too_many, 422, "dispute_evidence_too_many", "Слишком много файлов.")

        unknown_kind = await desk.post(
            f"/console/people/{person.id}/requests",
            data={
                "csrf_token": token,
                "account_number": person.mobile_number,
                "kind": "complaint",
                "text": "Прошу расшифровку",
            },
        )
        refused(unknown_kind, 422, "request_invalid", "Неизвестный тип заявки")
    assert await snapshot(db) == before
    assert files_in(evidence_dir) == []


async def test_supervisor_assigns_then_rejects_a_claim(
    db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    account, _old, new = await account_with_charges(db, clock)
    other, _old2, new2 = await account_with_charges(db, clock)
    dispute = await _claim(db, account.id, new.id, with_file=True)
    elsewhere = await _claim(db, other.id, new2.id, with_file=False)
    evidence_id = await _evidence_of(db, dispute.id)
    boss = await make_staff(db, "supervisor")
    page_url = f"/console/disputes/{dispute.id}"
    async with _client(db, 50033) as sup:
        await console_sign_in(sup, boss)
        page = await sup.get(page_url)
        assert page.status_code == 200 and 'data-test="resolve"' in page.text
        token = csrf_of(page.text)
        before = await snapshot(db)

        # The file is served under its own claim only.
        got = await sup.get(f"{page_url}/evidence/{evidence_id}")
        assert got.status_code == 200 and got.content == PNG
        assert got.headers["x-content-type-options"] == "nosniff"
        assert (
            got.headers["content-disposition"] == f'attachment; filename="evidence-{evidence_id}"'
        )
        wrong_claim = await sup.get(f"/console/disputes/{elsewhere.id}/evidence/{evidence_id}")
        refused(wrong_claim, 404, "dispute_evidence_not_found", "Файл не найден.")
        refused(await sup.get(f"{page_url}/evidence/999999"), 404, "dispute_evidence_not_found")
        refused(await sup.get("/console/disputes/999999"), 404, "dispute_not_found")

        no_one = await sup.post(f"{page_url}/assign", data={"csrf_token": token, "assignee": " "})
        refused(no_one, 422, "dispute_invalid")
        missing = await sup.post(
            "/console/disputes/999999/assign", data={"csrf_token": token, "assignee": "clerk1"}
        )
        refused(missing, 404, "dispute_not_found", "Претензия №999999 не найдена.")
        malformed = await sup.post(
            f"{page_url}/resolution",
            data={
                "csrf_token": token,
                "outcome": "accept",
                "reason": "Частично",
                f"accept_{new.id}": "12,345",
            },
        )
        refused(malformed, 422, "amount_malformed")
        assert f'href="{page_url}"' in malformed.text
        no_reason = await sup.post(
            f"{page_url}/resolution", data={"csrf_token": token, "outcome": "reject", "reason": ""}
        )
        refused(no_reason, 422, "dispute_invalid", "Укажите обоснование решения.")
        odd = await sup.post(
            f"{page_url}/resolution", data={"csrf_token": token, "outcome": "maybe", "reason": "x"}
        )
        refused(odd, 422, "dispute_invalid", "Решение: accept или reject.")
        assert await snapshot(db) == before

        assigned = await sup.post(
            f"{page_url}/assign", data={"csrf_token": token, "assignee": "clerk1"}
        )
        assert assigned.status_code == 303 and assigned.headers["location"] == page_url
        queue = await sup.get("/console/disputes")
        row = queue.text.split(f'data-id="{dispute.id}"', 1)[1].split("</tr>", 1)[0]
        assert "clerk1" in row

        rejected = await sup.post(
            f"{page_url}/resolution",
            data={"csrf_token": token, "outcome": "reject", "reason": "Роуминг был"},
        )
        assert rejected.status_code == 303 and rejected.headers["location"] == page_url
        shown = await sup.get(page_url)
        assert '<dd data-test="status">отклонена</dd>' in shown.text
        assert 'data-test="resolve"' not in shown.text
        listed = await sup.get("/console/disputes?status=rejected")
        assert f'data-id="{dispute.id}"' in listed.text
        assert f'data-id="{elsewhere.id}"' not in listed.text
        still_open = await sup.get("/console/disputes")
        assert f'data-id="{dispute.id}"' not in still_open.text
        assert f'data-id="{elsewhere.id}"' in still_open.text

        after = await snapshot(db)
        late = await sup.post(
            f"{page_url}/assign", data={"csrf_token": token, "assignee": "clerk2"}
        )
        refused(late, 409, "dispute_already_resolved")
        accept_now = await sup.post(
            f"{page_url}/resolution",
            data={"csrf_token": token, "outcome": "accept", "reason": "Передумал"},
        )
        refused(accept_now, 409, "dispute_already_resolved", "уже рассмотрена: rejected")
        assert await snapshot(db) == after
    async with db.session() as s:
        final = await s.get_one(Dispute, dispute.id)
        assert (final.status, final.assignee) == ("rejected", "clerk1")
    assert await _credits(db) == 0  # a rejection moves no money


async def test_request_answer_refusals_and_the_queue_filters(
    db: Database, clock: FrozenClock
) -> None:
    account, _old, _new = await account_with_charges(db, clock)

    async def filed(s):  # type: ignore[no-untyped-def]
        return await requests.file_request(
            s,
            await s.get_one(Account, account.id),
            kind="documents",
            text="Копию договора, пожалуйста",
            channel="desk",
            actor=CLERK,
        )

    made: WrittenRequest = await db.run(filed)
    url = f"/console/requests/{made.id}"
    boss = await make_staff(db, "supervisor")
    async with _client(db, 50034) as sup:
        await console_sign_in(sup, boss)
        page = await sup.get(url)
        assert page.status_code == 200 and "Копию договора" in page.text
        token = csrf_of(page.text)
        before = await snapshot(db)
        empty = await sup.post(f"{url}/answer", data={"csrf_token": token, "text": "  "})
        refused(empty, 422, "request_invalid", "Текст ответа обязателен.")
        nobody = await sup.post(f"{url}/assign", data={"csrf_token": token, "assignee": ""})
        refused(nobody, 422, "request_invalid")
        missing = await sup.post(
            "/console/requests/999999/answer", data={"csrf_token": token, "text": "Ответ"}
        )
        refused(missing, 404, "request_not_found", "Заявка №999999 не найдена.")
        assert await snapshot(db) == before

        answered_list = await sup.get("/console/requests?status=answered")
        assert f'data-id="{made.id}"' not in answered_list.text
        answered = await sup.post(
            f"{url}/answer", data={"csrf_token": token, "text": "Копия отправлена почтой."}
        )
        assert answered.status_code == 303 and answered.headers["location"] == url
        shown = await sup.get(url)
        assert '<p data-test="answer">Копия отправлена почтой.</p>' in shown.text
        refused(
            await sup.get(f"{url}/statement.pdf"),
            404,
            "request_not_found",
            "К ответу не приложена справка.",
        )
        assert f'data-id="{made.id}"' in (await sup.get("/console/requests?status=answered")).text
        assert f'data-id="{made.id}"' not in (await sup.get("/console/requests")).text
        bogus = await sup.get("/console/requests?status=lost")
        assert bogus.status_code == 422

        after = await snapshot(db)
        again = await sup.post(f"{url}/answer", data={"csrf_token": token, "text": "Ещё раз"})
        refused(again, 409, "request_already_answered", f"На заявку №{made.id} уже дан ответ.")
        late = await sup.post(f"{url}/assign", data={"csrf_token": token, "assignee": "clerk1"})
        refused(late, 409, "request_already_answered")
        assert await snapshot(db) == after
    async with db.session() as s:
        sms = await s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "sms.send"))
        assert len(list(sms)) == 1  # one answer, one SMS


async def test_deadlines_list_what_is_due_soon_and_what_is_overdue(
    db: Database, clock: FrozenClock
) -> None:
    account, _old, new = await account_with_charges(db, clock)
    dispute = await _claim(db, account.id, new.id, with_file=False)

    async def filed(s):  # type: ignore[no-untyped-def]
        return await requests.file_request(
            s,
            await s.get_one(Account, account.id),
            kind="debt_details",
            text="Прошу расшифровку долга",
            channel="desk",
            actor=CLERK,
        )

    made: WrittenRequest = await db.run(filed)
    boss = await make_staff(db, "supervisor")
    days = get_settings().disputes.nearing_days

    async def deadlines(port: int) -> str:
        # A fresh sign-in each time: the clock moves further than a staff session lasts.
        async with _client(db, port) as sup:
            await console_sign_in(sup, boss)
            page = await sup.get("/console/deadlines")
            assert page.status_code == 200, page.text
            return page.text

    today = await deadlines(50035)
    assert f"Сроки: ближайшие {days} дн. и просроченные" in today
    assert f'data-id="{dispute.id}"' not in today  # a month away
    assert "Нет претензий с близким сроком." in today

    # Two days before the claim's answer is due, then a day past it.
    clock.at = dt.datetime.combine(dispute.answer_due_on - dt.timedelta(days=2), dt.time(9), dt.UTC)
    soon = await deadlines(50036)
    row = soon.split(f'data-id="{dispute.id}"', 1)[1].split("</tr>", 1)[0]
    assert "<td>ответ</td>" in row and '<td class="num">2</td>' in row
    assert f'href="/console/requests/{made.id}"' in soon
    clock.at = dt.datetime.combine(dispute.answer_due_on + dt.timedelta(days=1), dt.time(9), dt.UTC)
    late = await deadlines(50037)
    row = late.split(f'data-id="{dispute.id}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="overdue"' in row
    assert "просрочено на 1" in row


async def test_a_claim_that_fails_after_its_files_were_written_leaves_none_behind(
    db: Database, clock: FrozenClock, evidence_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from abonent.people import cases as desk_cases

    person = await make_person(db)
    item = await _item(db, await _account_id(db, person.mobile_number), 45_000)
    clerk = await make_staff(db, "clerk")
    real = desk_cases.file_dispute
    reached: list[list[str]] = []

    async def then_fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        await real(*args, **kwargs)
        reached.append(files_in(evidence_dir))  # the file is on disk by now
        raise RuntimeError("the commit never happened")

    monkeypatch.setattr(desk_cases, "file_dispute", then_fails)
    transport = httpx.ASGITransport(
        app=create_app(db), client=("127.0.0.1", 50038), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as desk:
        csrf = await console_sign_in(desk, clerk)
        assert (await check_identity(desk, person, csrf)).status_code in (200, 303)
        form = await desk.get(f"/console/people/{person.id}/disputes/new")
        before = await snapshot(db)
        crashed = await desk.post(
            f"/console/people/{person.id}/disputes",
            data={
                "csrf_token": csrf_of(form.text),
                "account_number": person.mobile_number,
                "open_item_id": str(item.id),
                "text": "Не звонил",
            },
            files={"files": ("check.png", PNG, "image/png")},
        )
    assert crashed.status_code == 500
    assert len(reached) == 1 and len(reached[0]) == 1
    assert files_in(evidence_dir) == []
    assert await snapshot(db) == before
