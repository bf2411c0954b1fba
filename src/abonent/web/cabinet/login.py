"""Login by phone number and SMS code, logout, and the list of sessions.

The services are the API's (``subscribers.service``), so the limits are the API's too: sends per
number and per address per hour, wrong codes per code and per number. A refusal for too many
answers 429 with ``Retry-After`` and a page saying when to try again.
"""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.api.deps import client_of, database_of
from abonent.config import get_settings
from abonent.kit.errors import AbonentError, InvalidInput
from abonent.kit.inputs import INT64_MAX
from abonent.kit.numbers import mask_msisdn, normalize_msisdn
from abonent.subscribers import service as subscribers
from abonent.subscribers.errors import (
    CodeExpired,
    CodeInvalid,
    NotAuthenticated,
    SessionNotFound,
    TooManyAttempts,
)
from abonent.throttle.errors import RateLimited
from abonent.web.cabinet.session import (
    N_,
    SESSION_COOKIE,
    Cabinet,
    check_form,
    page,
    render_page,
    safe_next,
    settings_of,
)
from abonent.web.security import CSRF_COOKIE, set_cookie

router = APIRouter(prefix="/cabinet", include_in_schema=False)


LOGIN_COOKIE = "ab_login"
"""The number a code was asked for, between the two steps (HttpOnly, ten minutes)."""

CsrfField = Annotated[str | None, Form(max_length=256)]


def too_many(request: Request, retry_after: int) -> HTMLResponse:
    minutes = max(1, math.ceil(retry_after / 60))
    return page(
        request,
        "cabinet/too_many.html",
        {"minutes": minutes},
        status_code=429,
        headers={"retry-after": str(retry_after)},
    )


async def _logged_in(request: Request) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return False
    try:
        async with database_of(request).session() as session:
            await subscribers.authenticate(session, token)
    except NotAuthenticated:
        return False
    return True


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    target = safe_next(next)
    if await _logged_in(request):
        return RedirectResponse(target, status_code=303)
    return page(request, "cabinet/login.html", {"next": target, "error": None, "msisdn": ""})


@router.post("/login", response_class=HTMLResponse)
async def send_code(
    request: Request,
    msisdn: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str | None, Form(max_length=512)] = None,
    csrf_token: CsrfField = None,
) -> Response:
    check_form(request, csrf_token)
    target = safe_next(next)
    try:
        number = normalize_msisdn(msisdn)
    except InvalidInput:
        return page(
            request,
            "cabinet/login.html",
            {
                "next": target,
                "error": N_("Введите номер телефона, например +7 916 123-45-67"),
                "msisdn": msisdn,
            },
            status_code=422,
        )
    client = client_of(request)

    async def work(session: AsyncSession) -> None:
        await subscribers.request_code(session, number, client=client)

    try:
        await database_of(request).run(work)
    except RateLimited as exc:
        return too_many(request, exc.retry_after_seconds)
    response = RedirectResponse(f"/cabinet/login/code?next={quote(target)}", status_code=303)
    set_cookie(response, settings_of(request), LOGIN_COOKIE, number, max_age=600)
    return response


@router.get("/login/code", response_class=HTMLResponse)
async def code_form(request: Request, next: str | None = None) -> Response:
    number = request.cookies.get(LOGIN_COOKIE)
    if not number:
        return RedirectResponse("/cabinet/login", status_code=303)
    return _code_page(request, number, safe_next(next), None)


def _code_page(
    request: Request, number: str, target: str, error: str | None, status_code: int = 200
) -> HTMLResponse:
    minutes = max(1, get_settings().subscriber_auth.code_ttl_seconds // 60)
    return page(
        request,
        "cabinet/login_code.html",
        {"masked": mask_msisdn(number), "next": target, "error": error, "minutes": minutes},
        status_code=status_code,
    )


@router.post("/login/code", response_class=HTMLResponse)
async def enter_code(
    request: Request,
    code: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str | None, Form(max_length=512)] = None,
    csrf_token: CsrfField = None,
) -> Response:
    check_form(request, csrf_token)
    target = safe_next(next)
    number = request.cookies.get(LOGIN_COOKIE)
    if not number:
        return RedirectResponse("/cabinet/login", status_code=303)
    client, agent = client_of(request), request.headers.get("user-agent")
    previous = request.cookies.get(SESSION_COOKIE)

    async def work(session: AsyncSession) -> subscribers.Tokens | AbonentError:
        try:
            tokens = await subscribers.login(
                session, number, code.strip(), client=client, kind="web", user_agent=agent
            )
        except AbonentError as exc:
            return exc  # committed: the failure counters must stand
        if previous:
            # The session id is renewed at login: a cookie planted before it ends here.
            try:
                old = await subscribers.authenticate(session, previous)
            except NotAuthenticated:
                pass
            else:
                await subscribers.logout(session, old)
        return tokens

    result = await database_of(request).run(work)
    if isinstance(result, TooManyAttempts | RateLimited):
        return too_many(request, result.retry_after_seconds)
    if isinstance(result, CodeExpired):
        expired = N_("Срок действия кода истёк. Запросите новый код.")
        return _code_page(request, number, target, expired, 401)
    if isinstance(result, CodeInvalid):
        wrong = N_("Неверный код. Проверьте SMS и введите код ещё раз.")
        return _code_page(request, number, target, wrong, 401)
    if isinstance(result, AbonentError):
        return _code_page(request, number, target, N_("Код — это 6 цифр из SMS."), 422)
    settings = settings_of(request)
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        response,
        settings,
        SESSION_COOKIE,
        result.access_token,
        max_age=settings.subscriber_auth.web_hours * 3600,
    )
    # A fresh CSRF nonce too: nothing minted before the login is accepted after it.
    response.delete_cookie(CSRF_COOKIE, path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, principal: Cabinet, csrf_token: CsrfField = None) -> Response:
    check_form(request, csrf_token)

    async def work(session: AsyncSession) -> None:
        await subscribers.logout(session, principal)

    await database_of(request).run(work)
    response = RedirectResponse("/cabinet/login?bye=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/sessions", response_class=HTMLResponse)
async def sessions(request: Request, principal: Cabinet) -> HTMLResponse:
    async with database_of(request).session() as session:
        found = await subscribers.list_sessions(session, principal)
    return await render_page(request, principal, "cabinet/sessions.html", {"sessions": found})


@router.post("/sessions/{session_id}/revoke")
async def revoke(
    request: Request,
    principal: Cabinet,
    session_id: Annotated[int, Path(ge=1, le=INT64_MAX)],
    csrf_token: CsrfField = None,
) -> Response:
    check_form(request, csrf_token)
    if session_id == principal.session_id:
        return await logout(request, principal, csrf_token)

    async def work(session: AsyncSession) -> bool:
        try:
            await subscribers.revoke_session(session, principal, session_id)
        except SessionNotFound:
            return False
        return True

    await database_of(request).run(work)
    return RedirectResponse("/cabinet/sessions", status_code=303)
