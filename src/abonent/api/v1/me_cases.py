"""``/v1/me/disputes`` and ``/v1/me/requests``: the subscriber's own claims and written requests.

Only the caller's own: another subscriber's claim, request or file answers exactly as an unknown
one (404). Evidence is served to that subscriber (and to staff through ``/v1/disputes``) only.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from abonent.api.deps import Subscriber, database_of
from abonent.api.v1.responses import PROBLEMS, problem
from abonent.config import get_settings
from abonent.disputes import evidence as evidence_service
from abonent.disputes.errors import EvidenceRefused
from abonent.disputes.schemas import DisputeOut, dispute_out
from abonent.kit.errors import InvalidInput
from abonent.kit.inputs import INT64_MAX, MultilineText, Text
from abonent.requests.schemas import RequestOut, request_out
from abonent.subscribers import cases

router = APIRouter(prefix="/me", tags=["subscriber"], responses=PROBLEMS)

PathId = Annotated[int, Path(ge=1, le=INT64_MAX)]
Short = Annotated[str, Text(64, min_length=1)]


class MyRequestIn(BaseModel):
    account_number: Short
    kind: Short
    text: MultilineText


async def read_files(files: list[UploadFile]) -> list[tuple[str, bytes]]:
    """The uploaded files' names and bytes, each read to one byte over the limit at most."""
    settings = get_settings().disputes
    if len(files) > settings.evidence_max_files:
        raise EvidenceRefused(
            f"К претензии можно приложить не больше {settings.evidence_max_files} файлов.",
            code="dispute_evidence_too_many",
        )
    return [(f.filename or "", await f.read(settings.evidence_max_bytes + 1)) for f in files]


@router.get("/disputes", response_model=list[DisputeOut])
async def my_disputes(principal: Subscriber, request: Request) -> list[DisputeOut]:
    async with database_of(request).session() as session:
        return [await dispute_out(session, d) for d in await cases.my_disputes(session, principal)]


@router.post(
    "/disputes",
    status_code=201,
    response_model=DisputeOut,
    responses={
        409: problem("a charge is already under an open claim"),
        422: problem("refused: too late, wrong file type, too large, too many files"),
    },
)
async def file_my_dispute(
    principal: Subscriber,
    request: Request,
    account_number: Annotated[str, Form(min_length=1, max_length=64)],
    open_item_id: Annotated[list[int], Form()],
    text: Annotated[str, Form(min_length=1, max_length=4000)],
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> DisputeOut:
    """A claim against whole charges of one's own account (multipart: ``open_item_id`` repeated,
    ``text``, ``files`` up to the configured count). A refusal leaves no row and no file."""
    if not open_item_id or any(not 1 <= i <= INT64_MAX for i in open_item_id):
        raise InvalidInput("Укажите оспариваемые начисления.", code="dispute_invalid")
    content = await read_files(files or [])
    written: list[FilePath] = []
    try:
        async with database_of(request).session(write=True) as session:
            dispute = await cases.file_my_dispute(
                session,
                principal,
                account_number=account_number,
                item_ids=list(dict.fromkeys(open_item_id)),
                text=text,
                files=content,
                written=written,
            )
            out = await dispute_out(session, dispute)
    except BaseException:
        evidence_service.discard(written)
        raise
    return out


@router.get("/disputes/{dispute_id}", response_model=DisputeOut)
async def my_dispute(dispute_id: PathId, principal: Subscriber, request: Request) -> DisputeOut:
    async with database_of(request).session() as session:
        return await dispute_out(session, await cases.my_dispute(session, principal, dispute_id))


@router.get(
    "/disputes/{dispute_id}/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}},
)
async def my_evidence(
    dispute_id: PathId, evidence_id: PathId, principal: Subscriber, request: Request
) -> Response:
    async with database_of(request).session() as session:
        row, content = await cases.my_evidence(session, principal, dispute_id, evidence_id)
    return Response(
        content,
        media_type=row.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{row.id}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@router.get("/requests", response_model=list[RequestOut])
async def my_requests(principal: Subscriber, request: Request) -> list[RequestOut]:
    async with database_of(request).session() as session:
        return [request_out(r) for r in await cases.my_requests(session, principal)]


@router.post("/requests", status_code=201, response_model=RequestOut)
async def file_my_request(body: MyRequestIn, principal: Subscriber, request: Request) -> RequestOut:
    async with database_of(request).session(write=True) as session:
        made = await cases.file_my_request(
            session, principal, account_number=body.account_number, kind=body.kind, text=body.text
        )
        return request_out(made)


@router.get("/requests/{request_id}", response_model=RequestOut)
async def my_request(request_id: PathId, principal: Subscriber, request: Request) -> RequestOut:
    async with database_of(request).session() as session:
        return request_out(await cases.my_request(session, principal, request_id))


@router.get(
    "/requests/{request_id}/statement.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def my_statement(request_id: PathId, principal: Subscriber, request: Request) -> Response:
    async with database_of(request).session() as session:
        pdf = await cases.my_statement_pdf(session, principal, request_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="request-{request_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )
