"""Who is signed in to the console, and the protections every console page shares.

* ``console_staff(*roles)`` / ``console_may(action)``: the dependency of every console page. No
  session cookie (or one that is over: idle, absolute life, logged out, employee disabled) → a
  redirect to ``/console/login``; a wrong role → the 403 page. The rule of who may do what stays
  in ``staff/roles.py``.
* The session cookie ``ab_staff``: HttpOnly, SameSite=Strict, path /console, Secure outside
  development; it holds the staff session token (stored server-side as SHA-256 only). A new one
  at every sign-in, and the one it replaces is ended.
* CSRF on every form (``web/security.py``'s signed double-submit, bound to this session cookie):
  ``render`` puts ``csrf`` into every page, ``checked_form`` refuses a form without a valid one.
* ``no-store`` and the CSP: ``install`` adds ``SecurityHeaders`` for /console.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from abonent import staff
from abonent.api.deps import database_of
from abonent.config import Settings
from abonent.kit import clock
from abonent.staff.errors import SessionInvalid
from abonent.staff.principal import StaffPrincipal
from abonent.staff.roles import ACTIONS, ROLES, may
from abonent.web.console.templating import templates
from abonent.web.security import CSRF_FIELD, CsrfRefused, check_csrf, csrf_token

COOKIE = "ab_staff"
ROLE_NAMES = {
    "clerk": "операционист",
    "hotline": "горячая линия",
    "collections": "взыскание",
    "supervisor": "руководитель",
    "admin": "администратор",
}
PREFIX = "/console"
LOGIN_PATH = "/console/login"


class SignInRequired(Exception):
    """No live console session: the handler redirects to the login page."""

    def __init__(self, next_path: str, *, expired: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class RoleRefused(Exception):
    def __init__(self, principal: StaffPrincipal) -> None:
        super().__init__(principal.role)
        self.principal = principal


class ConsoleCsrfRefused(CsrfRefused):
    """A console form without a valid token: the console's own 403 page (nothing changed)."""


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def safe_next(target: str | None) -> str:
    """Only a path inside the console: an open redirect would lend our name to phishing."""
    if (
        target
        and target.startswith(PREFIX)
        and "//" not in target
        and "\\" not in target
        and not target.startswith(LOGIN_PATH)
    ):
        return target
    return PREFIX


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    # No max-age: the cookie goes when the browser closes (a shared desk computer); the session
    # itself ends server-side after the idle timeout or its absolute life.
    response.set_cookie(
        COOKIE,
        token,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=settings.env != "development",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=settings.env != "development",
    )


def _permits(principal: StaffPrincipal | None) -> Callable[[str], bool]:
    def permitted(action: str) -> bool:
        return principal is not None and may(principal.role, action)

    return permitted


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    principal: StaffPrincipal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A console page: ``staff`` (who is signed in), ``may(action)``, and ``csrf`` for forms."""
    settings = settings_of(request)
    holder = Response()
    token = csrf_token(request, holder, settings, session_cookie=COOKIE)
    page = {
        "staff": principal,
        "may": _permits(principal),
        "csrf": token,
        "csrf_field": CSRF_FIELD,
        "path": request.url.path,
        "role_names": ROLE_NAMES,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, page, status_code=status_code)
    for key, value in holder.raw_headers:
        if key == b"set-cookie":
            response.raw_headers.append((key, value))
    return response


async def checked_form(request: Request) -> FormData:
    """The submitted form, once its CSRF token is proven to be this browser's and session's."""
    form = await request.form()
    submitted = form.get(CSRF_FIELD)
    try:
        check_csrf(
            request,
            submitted if isinstance(submitted, str) else None,
            settings_of(request),
            session_cookie=COOKIE,
        )
    except CsrfRefused:
        raise ConsoleCsrfRefused("the form is stale or from another site") from None
    return form


def field(form: FormData, name: str, limit: int = 256) -> str:
    """A text field of the form (a file or a missing field is empty), cut to ``limit``."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


class _ConsoleStaff:
    def __init__(self, roles: frozenset[str]) -> None:
        self.roles = roles

    async def __call__(self, request: Request) -> StaffPrincipal:
        token = request.cookies.get(COOKIE)
        path = request.url.path
        if not token:
            raise SignInRequired(path, expired=False)

        async def work(session: Any) -> StaffPrincipal:
            return await staff.authenticate(session, token)

        try:
            principal = await database_of(request).run(work)
        except SessionInvalid:
            raise SignInRequired(path, expired=True) from None
        if self.roles and principal.role not in self.roles:
            raise RoleRefused(principal)
        request.state.actor = principal.actor()
        request.state.idempotency_scope = f"staff:{principal.staff_id}"
        return principal


def console_staff(*roles: str) -> Callable[..., Coroutine[Any, Any, StaffPrincipal]]:
    """Dependency of a console page: a live staff session; with ``roles``, one of them."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown staff roles {sorted(unknown)}")
    return _ConsoleStaff(frozenset(roles))


def console_may(action: str) -> Callable[..., Coroutine[Any, Any, StaffPrincipal]]:
    """Dependency of a console page: a live session of a role that ``staff/roles.py`` lets do
    ``action``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown staff action {action!r}")
    return _ConsoleStaff(ACTIONS[action])


# --- the pending first sign-in (the QR shown once, waiting for its first code) ---------------

_PENDING_SECONDS = 600


def _pending_key(settings: Settings) -> bytes:
    return hmac.new(
        settings.secret("pii_hash_key"), b"console-enrolment-v1", hashlib.sha256
    ).digest()


def _pending_mac(settings: Settings, body: str) -> str:
    return hmac.new(_pending_key(settings), body.encode(), hashlib.sha256).hexdigest()


def pending_token(settings: Settings, staff_id: int, login: str) -> str:
    """A signed "this employee passed the password and saw the QR" for the confirmation form."""
    body = f"{staff_id}|{login}|{int(clock.now().timestamp()) + _PENDING_SECONDS}"
    return f"{body}|{_pending_mac(settings, body)}"


def pending_of(settings: Settings, token: str) -> tuple[int, str] | None:
    """(staff id, login) of a pending first sign-in that has not run out, or None."""
    parts = (token or "").split("|")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    body = "|".join(parts[:3])
    if not hmac.compare_digest(_pending_mac(settings, body), parts[3]):
        return None
    if int(parts[2]) < clock.now().timestamp():
        return None
    return int(parts[0]), parts[1]


# --- the exception handlers ------------------------------------------------------------------


async def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = LOGIN_PATH + "?next=" + quote(safe_next(exc.next_path), safe="/")
    if exc.expired:
        target += "&expired=1"
    response = RedirectResponse(target, status_code=303)
    if exc.expired:
        clear_session_cookie(response, settings_of(request))
    return response


async def _role_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RoleRefused)
    return render(request, "console/forbidden.html", principal=exc.principal, status_code=403)


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    return render(request, "console/csrf.html", status_code=403)


def exception_handlers() -> dict[type[Exception], Callable[..., Any]]:
    return {
        SignInRequired: _sign_in,
        RoleRefused: _role_refused,
        ConsoleCsrfRefused: _csrf_refused,
    }
