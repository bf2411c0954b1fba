"""«Мои обращения»: the subscriber's written requests and claims in the cabinet.

File a request, file a claim against charges with evidence files, read the answers (and the
attached statement). Every page calls ``subscribers.cases`` in one unit of work; another
subscriber's request or claim is "not found" like an unknown one.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.api.deps import database_of
from abonent.config import get_settings
from abonent.disputes import evidence as evidence_service
from abonent.disputes.errors import EvidenceRefused
from abonent.disputes.service import ClaimLine
from abonent.kit.errors import AbonentError, NotFound
from abonent.kit.inputs import INT64_MAX
from abonent.models import Dispute, DisputeEvidence, OpenItem, WrittenRequest
from abonent.subscribers import cases
from abonent.web.cabinet.session import (
    N_,
    Cabinet,
    PageNotFound,
    check_form,
    own_account,
    render_page,
    statements_of,
)

router = APIRouter(prefix="/cabinet/cases", include_in_schema=False)
CaseId = Annotated[int, Path(ge=1, le=INT64_MAX)]
CsrfField = Annotated[str | None, Form(max_length=256)]

KINDS = {
    "debt_details": N_("Расшифровка долга по всем счетам"),
    "documents": N_("Копии документов"),
    "other": N_("Другой вопрос"),
}
STATUSES = {
    "open": N_("На рассмотрении"),
    "answered": N_("Ответ готов"),
    "accepted": N_("Удовлетворена"),
    "partially_accepted": N_("Удовлетворена частично"),
    "rejected": N_("Отклонена"),
}
# The refusals a subscriber can meet here, in words the catalogues translate.
REFUSALS = {
    "dispute_claim_too_late": N_(
        "Срок подачи претензии по этому начислению истёк: 6 месяцев со дня начисления."
    ),
    "dispute_item_already_disputed": N_("По этому начислению уже есть претензия."),
    "dispute_invalid": N_("Выберите начисления и опишите, с чем вы не согласны."),
    "dispute_evidence_wrong_type": N_("Принимаются только файлы PDF, JPEG и PNG."),
    "dispute_evidence_too_large": N_("Файл слишком большой."),
    "dispute_evidence_too_many": N_("Слишком много файлов."),
    "dispute_evidence_refused": N_("Файл пуст."),
    "request_invalid": N_("Выберите тип заявки и напишите текст."),
}


def _refusal(exc: AbonentError) -> str:
    return REFUSALS.get(exc.code, N_("Не удалось принять обращение. Проверьте данные."))


async def _read(request: Request, work: Any) -> Any:
    try:
        return await database_of(request).run(work, write=False)
    except NotFound:
        raise PageNotFound() from None


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, principal: Cabinet) -> HTMLResponse:
    async def work(session: AsyncSession) -> tuple[list[WrittenRequest], list[Dispute]]:
        return (
            await cases.my_requests(session, principal),
            await cases.my_disputes(session, principal),
        )

    mine_requests, mine_disputes = await _read(request, work)
    return await render_page(
        request,
        principal,
        "cabinet/cases/index.html",
        {
            "requests": mine_requests,
            "disputes": mine_disputes,
            "kinds": KINDS,
            "statuses": STATUSES,
        },
    )


async def _request_form(
    request: Request, principal: Cabinet, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    accounts = [a for a, _s in await statements_of(request, principal)]
    return await render_page(
        request,
        principal,
        "cabinet/cases/request_new.html",
        {"accounts": accounts, "kinds": KINDS, "error": error},
        status_code=status_code,
    )


@router.get("/requests/new", response_class=HTMLResponse)
async def new_request(request: Request, principal: Cabinet) -> HTMLResponse:
    return await _request_form(request, principal)


@router.post("/requests", response_model=None)
async def file_request(
    request: Request,
    principal: Cabinet,
    account_number: Annotated[str, Form(max_length=64)] = "",
    kind: Annotated[str, Form(max_length=32)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    check_form(request, csrf_token)

    async def work(session: AsyncSession) -> int:
        made = await cases.file_my_request(
            session, principal, account_number=account_number, kind=kind, text=text
        )
        return made.id

    try:
        request_id = await database_of(request).run(work)
    except NotFound:
        raise PageNotFound() from None
    except AbonentError as exc:
        return await _request_form(request, principal, error=_refusal(exc), status_code=422)
    return RedirectResponse(f"/cabinet/cases/requests/{request_id}", status_code=303)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
async def show_request(request: Request, principal: Cabinet, request_id: CaseId) -> HTMLResponse:
    async def work(session: AsyncSession) -> WrittenRequest:
        return await cases.my_request(session, principal, request_id)

    found = await _read(request, work)
    return await render_page(
        request,
        principal,
        "cabinet/cases/request.html",
        {"r": found, "kinds": KINDS, "statuses": STATUSES},
    )


@router.get("/requests/{request_id}/statement.pdf")
async def request_statement(request: Request, principal: Cabinet, request_id: CaseId) -> Response:
    async def work(session: AsyncSession) -> bytes:
        return await cases.my_statement_pdf(session, principal, request_id)

    pdf = await _read(request, work)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="request-{request_id}.pdf"',
            "cache-control": "no-store",
        },
    )


async def _dispute_form(
    request: Request,
    principal: Cabinet,
    account_number: str | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    accounts = [a for a, _s in await statements_of(request, principal)]
    chosen = account_number or (accounts[0].number if accounts else None)
    charges: list[OpenItem] = []
    taken: set[int] = set()
    if chosen:

        async def work(session: AsyncSession) -> tuple[list[OpenItem], set[int]]:
            return await cases.disputable_charges(session, principal, chosen)

        charges, taken = await _read(request, work)
    settings = get_settings().disputes
    return await render_page(
        request,
        principal,
        "cabinet/cases/dispute_new.html",
        {
            "accounts": accounts,
            "chosen": chosen,
            "charges": charges,
            "taken": taken,
            "error": error,
            "max_files": settings.evidence_max_files,
            "max_mb": settings.evidence_max_bytes // 1_000_000,
        },
        focus=chosen,
        status_code=status_code,
    )


@router.get("/disputes/new", response_class=HTMLResponse)
async def new_dispute(
    request: Request,
    principal: Cabinet,
    account: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    if account is not None:
        await own_account(request, principal, account)
    return await _dispute_form(request, principal, account)


@router.post("/disputes", response_model=None)
async def file_dispute(
    request: Request,
    principal: Cabinet,
    account_number: Annotated[str, Form(max_length=64)] = "",
    open_item_id: Annotated[list[str] | None, Form()] = None,
    text: Annotated[str, Form(max_length=4000)] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
    csrf_token: CsrfField = None,
) -> Response:
    check_form(request, csrf_token)
    await own_account(request, principal, account_number)
    ids = [int(i) for i in (open_item_id or []) if i.isdigit() and 0 < int(i) <= INT64_MAX]
    uploads = [f for f in (files or []) if f.filename]
    settings = get_settings().disputes
    written: list[FilePath] = []
    try:
        if len(uploads) > settings.evidence_max_files:
            raise EvidenceRefused("too many", code="dispute_evidence_too_many")
        content = [
            (f.filename or "", await f.read(settings.evidence_max_bytes + 1)) for f in uploads
        ]
        async with database_of(request).session(write=True) as session:
            dispute = await cases.file_my_dispute(
                session,
                principal,
                account_number=account_number,
                item_ids=list(dict.fromkeys(ids)),
                text=text,
                files=content,
                written=written,
            )
            dispute_id = dispute.id
    except NotFound:
        evidence_service.discard(written)
        raise PageNotFound() from None
    except AbonentError as exc:
        evidence_service.discard(written)
        return await _dispute_form(
            request, principal, account_number, error=_refusal(exc), status_code=422
        )
    except BaseException:
        evidence_service.discard(written)
        raise
    return RedirectResponse(f"/cabinet/cases/disputes/{dispute_id}", status_code=303)


@router.get("/disputes/{dispute_id}", response_class=HTMLResponse)
async def show_dispute(request: Request, principal: Cabinet, dispute_id: CaseId) -> HTMLResponse:
    async def work(
        session: AsyncSession,
    ) -> tuple[Dispute, list[ClaimLine], list[DisputeEvidence]]:
        return await cases.dispute_details(session, principal, dispute_id)

    dispute, rows, files = await _read(request, work)
    return await render_page(
        request,
        principal,
        "cabinet/cases/dispute.html",
        {"d": dispute, "rows": rows, "files": files, "statuses": STATUSES},
    )


@router.get("/disputes/{dispute_id}/evidence/{evidence_id}")
async def dispute_evidence(
    request: Request, principal: Cabinet, dispute_id: CaseId, evidence_id: CaseId
) -> Response:
    async def work(session: AsyncSession) -> tuple[DisputeEvidence, bytes]:
        return await cases.my_evidence(session, principal, dispute_id, evidence_id)

    row, content = await _read(request, work)
    return Response(
        content,
        media_type=row.media_type,
        headers={
            "content-disposition": f'attachment; filename="evidence-{row.id}"',
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )
