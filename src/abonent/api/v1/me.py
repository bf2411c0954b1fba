"""The subscriber's own view: profile, sessions, own accounts and their statements.

Another subscriber's account number answers exactly as an unknown one (404 account_not_found).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel

from abonent.api.deps import OwnStatement, Subscriber, database_of
from abonent.api.v1.responses import PROBLEMS
from abonent.kit.inputs import INT64_MAX
from abonent.kit.numbers import mask_msisdn
from abonent.statement.reader import read_statement
from abonent.statement.schemas import Statement
from abonent.subscribers import service as subscribers

router = APIRouter(prefix="/me", tags=["subscriber"], responses=PROBLEMS)
hot = APIRouter(prefix="/me", tags=["subscriber"], responses=PROBLEMS)
"""The subscriber's statement alone: included among the first routes (``app.py``), because
routes are matched in order and a match past a hundred routes costs more CPU than the query."""


class MeOut(BaseModel):
    msisdn_masked: str
    session_kind: str


class SessionOut(BaseModel):
    id: int
    kind: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    user_agent: str | None
    client: str | None
    current: bool


class MyAccount(BaseModel):
    number: str
    status: str
    statement: Statement


@router.get("", response_model=MeOut)
async def me(principal: Subscriber) -> MeOut:
    return MeOut(msisdn_masked=mask_msisdn(principal.msisdn), session_kind=principal.kind)


@router.get("/sessions", response_model=list[SessionOut])
async def sessions(principal: Subscriber, request: Request) -> list[SessionOut]:
    async with database_of(request).session() as session:
        found = await subscribers.list_sessions(session, principal)
    return [SessionOut(**vars(s)) for s in found]


@router.delete("/sessions/{session_id}", status_code=204)
async def revoke(
    session_id: Annotated[int, Path(ge=1, le=INT64_MAX)], principal: Subscriber, request: Request
) -> None:
    async with database_of(request).session(write=True) as session:
        await subscribers.revoke_session(session, principal, session_id)


@router.get("/accounts", response_model=list[MyAccount])
async def accounts(principal: Subscriber, request: Request) -> list[MyAccount]:
    db = database_of(request)
    async with db.session() as session:
        own = [(a.number, a.status) for a in await subscribers.own_accounts(session, principal)]
    return [
        MyAccount(number=n, status=st, statement=await read_statement(db.engine, n))
        for n, st in own
    ]


@hot.get("/accounts/{number}/statement", response_model=Statement)
async def statement(own: OwnStatement) -> Response:
    """The statement of one of the caller's accounts: balance, debt by service, overdue."""
    return Response(own.model_dump_json(), media_type="application/json")
