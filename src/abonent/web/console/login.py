"""``/console/login``, the first sign-in's TOTP enrolment (the QR shown once), ``/console/logout``.

A sign-in is a unit of work of the staff service; a refused one rolls back and the try is counted
in a unit of its own (the lockout with backoff is the service's). The answer never tells which
of login, password or code was wrong.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from abonent import staff
from abonent.api.deps import database_of
from abonent.staff import credentials
from abonent.staff import service as staff_service
from abonent.staff.errors import LoginFailed, LoginLocked, SessionInvalid
from abonent.staff.principal import StaffPrincipal, StaffTokens
from abonent.web.console.session import (
    COOKIE,
    LOGIN_PATH,
    PREFIX,
    checked_form,
    clear_session_cookie,
    console_staff,
    field,
    pending_of,
    pending_token,
    render,
    safe_next,
    set_session_cookie,
    settings_of,
)
from abonent.web.console.words import wait_words

router = APIRouter(prefix=PREFIX, include_in_schema=False)
FAILED = "Неверный логин, пароль или код. Проверьте раскладку клавиатуры и время на телефоне."


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _login_page(
    request: Request, *, error: str | None = None, login: str = "", status_code: int = 200
) -> HTMLResponse:
    next_path = safe_next(request.query_params.get("next"))
    notice = (
        "Сеанс завершён: долго не было действий или выполнен выход. Войдите снова."
        if request.query_params.get("expired")
        else None
    )
    return render(
        request,
        "console/login.html",
        {"error": error, "notice": notice, "login": login, "next": next_path},
        status_code=status_code,
    )


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


async def _end_previous(request: Request) -> None:
    """The session this browser had before (if any) ends: a sign-in always gets a new id."""
    old = request.cookies.get(COOKIE)
    if not old:
        return

    async def unit(session: AsyncSession) -> None:
        try:
            principal = await staff.authenticate(session, old)
        except SessionInvalid:
            return
        await staff.logout(session, principal)

    await database_of(request).run(unit)


def _signed_in(request: Request, tokens: StaffTokens, next_path: str) -> Response:
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_session_cookie(response, settings_of(request), tokens.access_token)
    return response


def _refusal(request: Request, exc: Exception, login: str) -> HTMLResponse:
    if isinstance(exc, LoginLocked):
        wait = int(exc.extra.get("retry_after", 60))
        message = (
            "Вход временно заблокирован после нескольких неудачных попыток. "
            f"Повторите через {wait_words(wait)}."
        )
        response = _login_page(request, error=message, login=login, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    return _login_page(request, error=FAILED, login=login, status_code=401)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await checked_form(request)
    login_name = field(form, "login", 64)
    password = field(form, "password", 256)
    code = field(form, "totp", 16).strip()
    next_path = field(form, "next", 512)
    db = database_of(request)
    client = _client(request)
    if not login_name or not password:
        return _login_page(
            request, error="Введите логин и пароль.", login=login_name, status_code=422
        )
    try:
        if code:
            tokens = await db.run(
                lambda s: staff.login(s, login_name, password, code, client=client)
            )
        else:
            first = await db.run(
                lambda s: staff_service.begin_enrolment(s, login_name, password, client=client)
            )
            return _enrolment_page(request, first, next_path)
    except LoginLocked as exc:
        return _refusal(request, exc, login_name)
    except LoginFailed as exc:
        # The refused unit rolled back; the try is counted in a unit of its own.
        await db.run(lambda s: staff_service.record_failure(s, login_name, client=client))
        return _refusal(request, exc, login_name)
    await _end_previous(request)
    return _signed_in(request, tokens, next_path)


def _qr_data_uri(uri: str) -> str:
    svg = credentials.qr_svg(uri)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _enrolment_page(
    request: Request,
    first: staff_service.FirstSignIn,
    next_path: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "pending": pending_token(settings_of(request), first.staff_id, first.login),
        "login": first.login,
        "qr": _qr_data_uri(first.totp_uri) if first.totp_uri else None,
        "error": error,
        "next": safe_next(next_path),
    }
    return render(request, "console/enrol.html", context, status_code=status_code)


@router.post("/login/confirm", response_class=HTMLResponse)
async def confirm(request: Request) -> Response:
    """The first code after the QR: it confirms the enrolment and signs in."""
    form = await checked_form(request)
    settings = settings_of(request)
    pending = pending_of(settings, field(form, "pending", 256))
    code = field(form, "totp", 16).strip()
    next_path = field(form, "next", 512)
    if pending is None:
        return _login_page(
            request,
            error="Время на подтверждение вышло. Войдите с паролем и кодом из приложения.",
            status_code=401,
        )
    staff_id, login_name = pending
    db = database_of(request)
    client = _client(request)
    try:
        tokens = await db.run(
            lambda s: staff_service.confirm_enrolment(s, staff_id, code, client=client)
        )
    except LoginLocked as exc:
        return _refusal(request, exc, login_name)
    except LoginFailed:
        await db.run(lambda s: staff_service.record_failure(s, login_name, client=client))
        # The QR is not shown again: the code from the app, the same form.
        again = staff_service.FirstSignIn(staff_id, login_name, "")
        return _enrolment_page(
            request,
            again,
            next_path,
            error="Код не подошёл. Введите новый код из приложения.",
            status_code=401,
        )
    await _end_previous(request)
    return _signed_in(request, tokens, next_path)


@router.post("/logout")
async def logout(
    request: Request, principal: Annotated[StaffPrincipal, Depends(console_staff())]
) -> Response:
    await checked_form(request)
    await database_of(request).run(lambda s: staff.logout(s, principal))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    clear_session_cookie(response, settings_of(request))
    return response
