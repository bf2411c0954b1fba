"""Console pages of written requests and claims: the queues, a request's answer with the
generated statement, a claim's page (evidence, assignment, decision), filing both for a checked
person at the desk, and the supervisor's list of deadlines.

Each page calls the domain services (``requests.service``, ``disputes.service``,
``disputes.evidence``, ``people.cases``) in one unit of work; a refusal is a page in Russian with
its stable code and changes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from abonent.api.deps import database_of
from abonent.collections import deadlines as collection_deadlines
from abonent.config import get_settings
from abonent.disputes import evidence as evidence_service
from abonent.disputes import service as disputes
from abonent.disputes.errors import EvidenceForbidden, EvidenceRefused
from abonent.disputes.roles import ACTIONS, REQUEST_ACTIONS
from abonent.kit import clock
from abonent.kit.errors import AbonentError, InvalidInput
from abonent.kit.inputs import INT64_MAX
from abonent.people import cases as desk
from abonent.requests import service as requests
from abonent.staff.principal import StaffPrincipal
from abonent.statement.reader import read_statement
from abonent.web.console.people import refused
from abonent.web.console.session import PREFIX, checked_form, console_staff, field, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)
CaseId = Annotated[int, Path(ge=1, le=INT64_MAX)]
PersonId = Annotated[int, Path(ge=1, le=2**62)]
_AMOUNT = re.compile(r"^\s*(\d{1,12})(?:[.,](\d{1,2}))?\s*$")


def _staff(action: str) -> Any:
    roles = {**ACTIONS, **REQUEST_ACTIONS}[action]
    return Depends(console_staff(*roles))


DisputeReader = Annotated[StaffPrincipal, _staff("disputes.read")]
DisputeFiler = Annotated[StaffPrincipal, _staff("disputes.file")]
DisputeAssigner = Annotated[StaffPrincipal, _staff("disputes.assign")]
DisputeResolver = Annotated[StaffPrincipal, _staff("disputes.resolve")]
RequestReader = Annotated[StaffPrincipal, _staff("requests.read")]
RequestFiler = Annotated[StaffPrincipal, _staff("requests.file")]
RequestAnswerer = Annotated[StaffPrincipal, _staff("requests.answer")]
RequestAssigner = Annotated[StaffPrincipal, _staff("requests.assign")]

KINDS = {"debt_details": "Расшифровка долга", "documents": "Копии документов", "other": "Другое"}
STATUSES = {
    "open": "на рассмотрении",
    "answered": "ответ дан",
    "accepted": "удовлетворена",
    "partially_accepted": "удовлетворена частично",
    "rejected": "отклонена",
}


def _can(principal: StaffPrincipal, action: str) -> bool:
    return principal.role in {**ACTIONS, **REQUEST_ACTIONS}[action]


def _refused(
    request: Request, principal: StaffPrincipal, exc: AbonentError, back: str
) -> HTMLResponse:
    """A refusal page. The claim and request services word their refusals in Russian (with the
    dates and numbers of the case), so those are shown as they are; others by their code."""
    if not exc.code.startswith(("dispute", "request")):
        return refused(request, principal, exc, back=back, title="Не выполнено")
    status = exc.status if 400 <= exc.status < 500 else 422
    return render(
        request,
        "console/error.html",
        {"message": exc.detail, "code": exc.code, "back": back, "title": "Не выполнено"},
        principal=principal,
        status_code=status,
    )


def _kopecks(raw: str) -> int:
    match = _AMOUNT.match(raw)
    if match is None:
        raise InvalidInput("amount", code="amount_malformed")
    return int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))


async def _files(form: Any) -> list[tuple[str, bytes]]:
    settings = get_settings().disputes
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if len(uploads) > settings.evidence_max_files:
        raise EvidenceRefused("Слишком много файлов.", code="dispute_evidence_too_many")
    return [(f.filename or "", await f.read(settings.evidence_max_bytes + 1)) for f in uploads]


# --- written requests ---------------------------------------------------------------------


@router.get("/requests", response_class=HTMLResponse)
async def request_queue(
    request: Request,
    principal: RequestReader,
    status: Annotated[str | None, Query(pattern="^(open|answered)$")] = "open",
) -> HTMLResponse:
    async def work(session: AsyncSession) -> Any:
        return await requests.queue(session, status=status)

    found = await database_of(request).run(work, write=False)
    return render(
        request,
        "console/cases/requests.html",
        {"found": found, "kinds": KINDS, "statuses": STATUSES, "status": status},
        principal=principal,
    )


@router.get("/requests/{request_id}", response_class=HTMLResponse)
async def request_page(request: Request, principal: RequestReader, request_id: CaseId) -> Response:
    async def work(session: AsyncSession) -> Any:
        return await requests.get_request(session, request_id)

    try:
        found = await database_of(request).run(work, write=False)
    except AbonentError as exc:
        return _refused(request, principal, exc, f"{PREFIX}/requests")
    return render(
        request,
        "console/cases/request.html",
        {
            "r": found,
            "kinds": KINDS,
            "statuses": STATUSES,
            "can_answer": _can(principal, "requests.answer"),
            "can_assign": _can(principal, "requests.assign"),
        },
        principal=principal,
    )


@router.post("/requests/{request_id}/assign", response_model=None)
async def request_assign(
    request: Request, principal: RequestAssigner, request_id: CaseId
) -> Response:
    form = await checked_form(request)
    assignee = field(form, "assignee", 128)

    async def work(session: AsyncSession) -> None:
        await requests.assign(session, request_id, assignee, actor=principal.actor())

    try:
        await database_of(request).run(work)
    except AbonentError as exc:
        return _refused(request, principal, exc, f"{PREFIX}/requests/{request_id}")
    return RedirectResponse(f"{PREFIX}/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id}/answer", response_model=None)
async def request_answer(
    request: Request, principal: RequestAnswerer, request_id: CaseId
) -> Response:
    form = await checked_form(request)
    text = field(form, "text", 4000)
    attach = field(form, "attach_statement", 8) == "on"

    async def work(session: AsyncSession) -> None:
        await requests.answer(
            session, request_id, text=text, attach_statement=attach, actor=principal.actor()
        )

    try:
        await database_of(request).run(work)
    except AbonentError as exc:
        return _refused(request, principal, exc, f"{PREFIX}/requests/{request_id}")
    return RedirectResponse(f"{PREFIX}/requests/{request_id}", status_code=303)


@router.get("/requests/{request_id}/statement.pdf", response_model=None)
async def request_statement(
    request: Request, principal: RequestReader, request_id: CaseId
) -> Response:
    async def work(session: AsyncSession) -> Any:
        return await requests.get_request(session, request_id)

    try:
        found = await database_of(request).run(work, write=False)
        if found.answer_pdf is None:
            raise requests.RequestNotFound("К ответу не приложена справка.")
    except AbonentError as exc:
        return _refused(request, principal, exc, f"{PREFIX}/requests/{request_id}")
    return Response(
        found.answer_pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="request-{request_id}.pdf"'},
    )


# --- claims -------------------------------------------------------------------------------


@router.get("/disputes", response_class=HTMLResponse)
async def dispute_queue(
    request: Request,
    principal: DisputeReader,
    status: Annotated[
        str | None, Query(pattern="^(open|accepted|partially_accepted|rejected)$")
    ] = "open",
) -> HTMLResponse:
    async def work(session: AsyncSession) -> Any:
        return await disputes.listing(session, status=status)

    found = await database_of(request).run(work, write=False)
    return render(
        request,
        "console/cases/disputes.html",
        {"found": found, "statuses": STATUSES, "status": status},
        principal=principal,
    )


@router.get("/disputes/{dispute_id}", response_class=HTMLResponse)
async def dispute_page(request: Request, principal: DisputeReader, dispute_id: CaseId) -> Response:
    db = database_of(request)

    async def work(session: AsyncSession) -> Any:
        dispute = await disputes.get_dispute(session, dispute_id)
        lines, files = await disputes.claim_lines(session, dispute)
        return dispute, lines, files, await disputes.account_number_of(session, dispute)

    try:
        dispute, lines, files, number = await db.run(work, write=False)
    except AbonentError as exc:
        return _refused(request, principal, exc, f"{PREFIX}/disputes")
    statement = await read_statement(db.engine, number)
    return render(
        request,
        "console/cases/dispute.html",
        {
            "d": dispute,
            "lines": lines,
            "files": files,
            "number": number,
            "statement": statement,
            "register_by": disputes.register_by(dispute),
            "statuses": STATUSES,
            "can_assign": _can(principal, "disputes.assign"),
            "can_resolve": _can(principal, "disputes.resolve"),
        },
        principal=principal,
    )


@router.get("/disputes/{dispute_id}/evidence/{evidence_id}", response_model=None)
async def dispute_evidence(
    request: Request, principal: DisputeReader, dispute_id: CaseId, evidence_id: CaseId
) -> Response:
    async def work(session: AsyncSession) -> Any:
        return await evidence_service.read_evidence(session, evidence_id, actor=principal.actor())

    try:
        row, content = await database_of(request).run(work, write=False)
        if row.dispute_id != dispute_id:
            raise EvidenceForbidden("Файл не найден.")
    except AbonentError as exc:
        return _refused(request, principal, exc, f"{PREFIX}/disputes/{dispute_id}")
    return Response(
        content,
        media_type=row.media_type,
        headers={
            "content-disposition": f'attachment; filename="evidence-{row.id}"',
            "x-content-type-options": "nosniff",
        },
    )


@router.post("/disputes/{dispute_id}/assign", response_model=None)
async def dispute_assign(
    request: Request, principal: DisputeAssigner, dispute_id: CaseId
) -> Response:
    form = await checked_form(request)
    assignee = field(form, "assignee", 128)

    async def work(session: AsyncSession) -> None:
        await disputes.assign(session, dispute_id, assignee, actor=principal.actor())

    try:
        await database_of(request).run(work)
    except AbonentError as exc:
        return _refused(request, principal, exc, f"{PREFIX}/disputes/{dispute_id}")
    return RedirectResponse(f"{PREFIX}/disputes/{dispute_id}", status_code=303)


@router.post("/disputes/{dispute_id}/resolution", response_model=None)
async def dispute_resolve(
    request: Request, principal: DisputeResolver, dispute_id: CaseId
) -> Response:
    """``outcome`` accept (each ``accept_<item id>`` in roubles: accept in part) or reject."""
    form = await checked_form(request)
    outcome = field(form, "outcome", 16)
    reason = field(form, "reason", 4000)
    back = f"{PREFIX}/disputes/{dispute_id}"
    try:
        accepted: dict[int, int] | None = None
        if outcome == "accept":
            accepted = {}
            for key in form:
                if key.startswith("accept_") and key[7:].isdigit():
                    raw = field(form, key, 32)
                    accepted[int(key[7:])] = _kopecks(raw) if raw.strip() else 0

        async def work(session: AsyncSession) -> None:
            await disputes.resolve(
                session,
                dispute_id,
                outcome=outcome,
                reason=reason,
                accepted=accepted or None,
                actor=principal.actor(),
            )

        await database_of(request).run(work)
    except AbonentError as exc:
        return _refused(request, principal, exc, back)
    return RedirectResponse(back, status_code=303)


@router.get("/deadlines", response_class=HTMLResponse)
async def deadlines(request: Request, principal: DisputeAssigner) -> HTMLResponse:
    days = get_settings().disputes.nearing_days

    async def work(session: AsyncSession) -> Any:
        return (
            await disputes.deadlines(session),
            await requests.nearing_deadline(session),
            await collection_deadlines.handover_notices_owed(
                session, as_of=clock.today(), within_days=days
            ),
        )

    claims, open_requests, notices = await database_of(request).run(work, write=False)
    return render(
        request,
        "console/cases/deadlines.html",
        {
            "claims": claims,
            "requests": open_requests,
            "notices": notices,
            "notice_words": NOTICE_STATUS_WORDS,
            "kinds": KINDS,
            "days": days,
        },
        principal=principal,
    )


NOTICE_STATUS_WORDS = {
    "queued": "не отправлено: в очереди, отложено или контакт запрещён",
    "failed": "не доставлено",
}


# --- filing at the desk for a checked person -----------------------------------------------


async def _person_form(
    request: Request, principal: StaffPrincipal, person_id: int, template: str
) -> Response:
    async def work(session: AsyncSession) -> Any:
        return await desk.accounts_and_charges(session, principal, person_id)

    try:
        name, accounts, taken = await database_of(request).run(work, write=False)
    except AbonentError as exc:
        return _refused(request, principal, exc, f"{PREFIX}/people/{person_id}/check")
    settings = get_settings().disputes
    return render(
        request,
        template,
        {
            "person_id": person_id,
            "name": name,
            "accounts": accounts,
            "taken": taken,
            "kinds": KINDS,
            "max_files": settings.evidence_max_files,
        },
        principal=principal,
    )


@router.get("/people/{person_id}/disputes/new", response_class=HTMLResponse)
async def new_dispute(request: Request, principal: DisputeFiler, person_id: PersonId) -> Response:
    return await _person_form(request, principal, person_id, "console/cases/dispute_new.html")


@router.post("/people/{person_id}/disputes", response_model=None)
async def file_dispute(request: Request, principal: DisputeFiler, person_id: PersonId) -> Response:
    form = await checked_form(request)
    back = f"{PREFIX}/people/{person_id}/disputes/new"
    written: list[FilePath] = []
    try:
        ids = [
            int(v)
            for v in form.getlist("open_item_id")
            if isinstance(v, str) and v.isdigit() and 0 < int(v) <= INT64_MAX
        ]
        content = await _files(form)
        account_number = field(form, "account_number", 64)
        text = field(form, "text", 4000)

        async def work(session: AsyncSession) -> int:
            dispute = await desk.file_dispute(
                session,
                principal,
                person_id,
                account_number=account_number,
                claims=dict.fromkeys(ids),
                text=text,
                files=content,
                written=written,
            )
            return dispute.id

        async with database_of(request).session(write=True) as session:
            dispute_id = await work(session)
    except AbonentError as exc:
        evidence_service.discard(written)
        return _refused(request, principal, exc, back)
    except BaseException:
        evidence_service.discard(written)
        raise
    return RedirectResponse(f"{PREFIX}/disputes/{dispute_id}", status_code=303)


@router.get("/people/{person_id}/requests/new", response_class=HTMLResponse)
async def new_request(request: Request, principal: RequestFiler, person_id: PersonId) -> Response:
    return await _person_form(request, principal, person_id, "console/cases/request_new.html")


@router.post("/people/{person_id}/requests", response_model=None)
async def file_request(request: Request, principal: RequestFiler, person_id: PersonId) -> Response:
    form = await checked_form(request)
    account_number = field(form, "account_number", 64)
    kind = field(form, "kind", 32)
    text = field(form, "text", 4000)

    async def work(session: AsyncSession) -> int:
        made = await desk.file_request(
            session, principal, person_id, account_number=account_number, kind=kind, text=text
        )
        return made.id

    try:
        request_id = await database_of(request).run(work)
    except AbonentError as exc:
        return _refused(request, principal, exc, f"{PREFIX}/people/{person_id}/requests/new")
    return RedirectResponse(f"{PREFIX}/requests/{request_id}", status_code=303)
