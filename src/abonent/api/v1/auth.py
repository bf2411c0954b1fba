"""The subscriber's login for a mobile app: an SMS code, then a rotating token pair."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.api.deps import Subscriber, client_of, database_of
from abonent.api.v1.responses import RATE_LIMITED
from abonent.kit.errors import AbonentError
from abonent.subscribers import service as subscribers

router = APIRouter(prefix="/auth", tags=["subscriber auth"], responses=RATE_LIMITED)

Msisdn = Annotated[
    str, Field(min_length=1, max_length=32, description="phone number, any usual form")
]


class OtpRequest(BaseModel):
    msisdn: Msisdn


class OtpAccepted(BaseModel):
    status: Literal["sent"] = "sent"
    detail: str = "Если номер обслуживается, на него отправлен код."


class TokenRequest(BaseModel):
    msisdn: Msisdn
    code: Annotated[str, Field(min_length=1, max_length=16)]


class RefreshRequest(BaseModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=128)]


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme, not a secret

    @classmethod
    def of(cls, tokens: subscribers.Tokens) -> TokenOut:
        return cls(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
        )


@router.post("/otp", status_code=202, response_model=OtpAccepted)
async def otp(body: OtpRequest, request: Request) -> OtpAccepted:
    """Send a login code by SMS. The same answer whether or not the number is ours."""
    client = client_of(request)

    async def work(session: AsyncSession) -> None:
        await subscribers.request_code(session, body.msisdn, client=client)

    await database_of(request).run(work)
    return OtpAccepted()


@router.post("/token", response_model=TokenOut)
async def token(body: TokenRequest, request: Request) -> TokenOut:
    """Exchange the SMS code for a token pair. A wrong try is counted even though refused."""
    client = client_of(request)
    agent = request.headers.get("user-agent")

    async def work(session: AsyncSession) -> subscribers.Tokens | AbonentError:
        try:
            return await subscribers.login(
                session, body.msisdn, body.code, client=client, kind="api", user_agent=agent
            )
        except AbonentError as exc:
            return exc  # committed: the failure counters must stand

    result = await database_of(request).run(work)
    if isinstance(result, AbonentError):
        raise result
    return TokenOut.of(result)


@router.post("/refresh", response_model=TokenOut)
async def refresh(body: RefreshRequest, request: Request) -> TokenOut:
    """Rotate the pair. A refresh token used twice ends its session (it has leaked)."""

    async def work(session: AsyncSession) -> subscribers.Tokens | AbonentError:
        try:
            return await subscribers.refresh(session, body.refresh_token)
        except AbonentError as exc:
            return exc  # committed: a reuse revokes the session

    result = await database_of(request).run(work)
    if isinstance(result, AbonentError):
        raise result
    return TokenOut.of(result)


@router.post("/logout", status_code=204)
async def logout(principal: Subscriber, request: Request) -> None:
    async def work(session: AsyncSession) -> None:
        await subscribers.logout(session, principal)

    await database_of(request).run(work)
