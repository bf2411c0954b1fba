"""``/v1/requests``: written requests (заявки) in a queue, answered with a statement attached."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from abonent.accounts.service import get_account
from abonent.api.deps import Db
from abonent.api.staff_deps import require_staff
from abonent.api.v1.responses import PROBLEMS
from abonent.disputes.roles import REQUEST_ACTIONS
from abonent.kit.inputs import INT64_MAX, MultilineText, Text
from abonent.requests import service as requests
from abonent.requests.schemas import RequestOut, request_out
from abonent.staff.principal import StaffPrincipal

router = APIRouter(tags=["written requests"], responses=PROBLEMS)
PathId = Annotated[int, Path(ge=1, le=INT64_MAX)]


def _staff(action: str) -> object:
    return Depends(require_staff(*REQUEST_ACTIONS[action]))


Reader = Annotated[StaffPrincipal, _staff("requests.read")]
Filer = Annotated[StaffPrincipal, _staff("requests.file")]
Answerer = Annotated[StaffPrincipal, _staff("requests.answer")]
Assigner = Annotated[StaffPrincipal, _staff("requests.assign")]
Short = Annotated[str, Text(64, min_length=1)]


class RequestCreate(BaseModel):
    account_number: Short
    kind: Short
    text: MultilineText


class AssignIn(BaseModel):
    assignee: Annotated[str, Text(128, min_length=1, blank=False)]


class AnswerIn(BaseModel):
    text: MultilineText
    attach_statement: bool = True


@router.get("/requests", response_model=list[RequestOut])
async def list_requests(
    db: Db,
    _who: Reader,
    status: Annotated[str | None, Query(pattern="^(open|answered)$")] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    assignee: Annotated[str | None, Query(max_length=128)] = None,
    overdue: bool = False,
) -> list[RequestOut]:
    async with db.session() as session:
        found = await requests.queue(
            session, status=status, kind=kind, assignee=assignee, overdue=overdue
        )
        return [request_out(r) for r in found]


@router.post("/requests", status_code=201, response_model=RequestOut)
async def file_request(body: RequestCreate, db: Db, who: Filer) -> RequestOut:
    async with db.session(write=True) as session:
        account = await get_account(session, body.account_number)
        made = await requests.file_request(
            session, account, kind=body.kind, text=body.text, channel="desk", actor=who.actor()
        )
        return request_out(made)


@router.get("/requests/{request_id}", response_model=RequestOut)
async def show_request(request_id: PathId, db: Db, _who: Reader) -> RequestOut:
    async with db.session() as session:
        return request_out(await requests.get_request(session, request_id))


@router.post("/requests/{request_id}/assign", response_model=RequestOut)
async def assign_request(request_id: PathId, body: AssignIn, db: Db, who: Assigner) -> RequestOut:
    async with db.session(write=True) as session:
        return request_out(
            await requests.assign(session, request_id, body.assignee, actor=who.actor())
        )


@router.post("/requests/{request_id}/answer", response_model=RequestOut)
async def answer_request(request_id: PathId, body: AnswerIn, db: Db, who: Answerer) -> RequestOut:
    async with db.session(write=True) as session:
        done = await requests.answer(
            session,
            request_id,
            text=body.text,
            attach_statement=body.attach_statement,
            actor=who.actor(),
        )
        return request_out(done)


@router.get(
    "/requests/{request_id}/statement.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def request_statement(request_id: PathId, db: Db, _who: Reader) -> Response:
    async with db.session() as session:
        request = await requests.get_request(session, request_id)
    if request.answer_pdf is None:
        raise requests.RequestNotFound("К ответу не приложена справка.")
    return Response(request.answer_pdf, media_type="application/pdf")
