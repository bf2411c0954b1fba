"""``/v1/staff/login`` and ``/v1/staff/logout``: staff sessions (password + TOTP code)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from abonent import staff
from abonent.api.deps import Db
from abonent.api.staff_deps import require_staff
from abonent.api.v1.responses import PROBLEMS, problem
from abonent.staff import service
from abonent.staff.errors import LoginFailed
from abonent.staff.principal import StaffPrincipal, StaffTokens

router = APIRouter(tags=["staff"], responses=PROBLEMS)


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str = Field(min_length=1, max_length=16, description="the 6-digit authenticator code")


class LoginOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme, not a secret
    expires_in: int
    session_id: int


class StaffMe(BaseModel):
    staff_id: int
    login: str
    name: str
    role: str


@router.post(
    "/staff/login",
    response_model=LoginOut,
    responses={
        401: problem("login, password or code wrong (one answer for all)"),
        429: problem("locked after too many failed tries"),
    },
)
async def staff_login(body: LoginIn, request: Request, db: Db) -> LoginOut:
    client = request.client.host if request.client else ""

    async def unit(session: AsyncSession) -> StaffTokens:
        return await staff.login(session, body.login, body.password, body.totp, client=client)

    try:
        tokens = await db.run(unit)
    except LoginFailed:
        # The refused unit rolled back; the try is counted in a unit of its own.
        await db.run(lambda s: service.record_failure(s, body.login, client=client))
        raise
    return LoginOut(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        session_id=tokens.session_id,
    )


@router.post("/staff/logout", status_code=204)
async def staff_logout(
    db: Db, principal: Annotated[StaffPrincipal, Depends(require_staff())]
) -> Response:
    await db.run(lambda s: staff.logout(s, principal))
    return Response(status_code=204)


@router.get("/staff/me", response_model=StaffMe)
async def staff_me(principal: Annotated[StaffPrincipal, Depends(require_staff())]) -> StaffMe:
    return StaffMe(
        staff_id=principal.staff_id,
        login=principal.login,
        name=principal.name,
        role=principal.role,
    )
