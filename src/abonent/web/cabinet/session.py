"""The logged-in cabinet: who is logged in, and how a page with personal data is rendered.

Other cabinet pages put themselves behind the login with one dependency and one renderer::

    from abonent.web.cabinet.session import Cabinet, render_page

    @router.get("/cabinet/something")
    async def something(request: Request, principal: Cabinet) -> HTMLResponse:
        return await render_page(request, principal, "cabinet/something.html", {...})

``Cabinet`` is the subscriber principal of the session cookie (a ``web`` session of
``subscribers.service``); without a live session the browser is sent to the login page and
comes back to where it was. ``render_page`` renders inside the logged-in layout: the balance
and, when there is one, the debt in the header, a CSRF token for the page's forms (``csrf``
in the template), ``Cache-Control: no-store`` (``web/security.py`` adds it under /cabinet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from abonent.api.deps import client_of, database_of
from abonent.config import Settings
from abonent.models import Account
from abonent.statement.reader import read_statement
from abonent.statement.schemas import Statement
from abonent.subscribers import service as subscribers
from abonent.subscribers.errors import NotAuthenticated
from abonent.subscribers.service import Principal
from abonent.web.cabinet.pages import render
from abonent.web.security import SESSION_COOKIE, check_csrf, csrf_token

__all__ = [
    "N_",
    "SESSION_COOKIE",
    "Cabinet",
    "Header",
    "LoginRequired",
    "PageNotFound",
    "check_form",
    "client_of",
    "current_subscriber",
    "own_account",
    "page",
    "render_page",
    "safe_next",
    "statements_of",
]


class LoginRequired(Exception):
    """No live session: the handler sends the browser to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageNotFound(Exception):
    """An unknown page or account, and another customer's account alike."""


def N_(message: str) -> str:
    """Marks a message for the catalogue; the template translates it (``_(error)``)."""
    return message


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def safe_next(target: str | None, default: str = "/cabinet/accounts") -> str:
    """Only a path inside the cabinet: an open redirect would lend our name to phishing."""
    if (
        target
        and target.startswith("/cabinet")
        and "//" not in target
        and "\\" not in target
        and not target.startswith("/cabinet/login")
    ):
        return target
    return default


async def current_subscriber(request: Request) -> Principal:
    """Dependency: the subscriber of the session cookie, or a redirect to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise LoginRequired(path)
    try:
        async with database_of(request).session() as session:
            return await subscribers.authenticate(session, token)
    except NotAuthenticated:
        raise LoginRequired(path) from None


Cabinet = Annotated[Principal, Depends(current_subscriber)]


async def own_account(request: Request, principal: Principal, number: str) -> Account:
    """The caller's account ``number``; any other (someone else's, or none) is the 404 page."""
    from abonent.accounts.errors import AccountNotFound

    if len(number) > 64:
        raise PageNotFound(number[:64])
    try:
        async with database_of(request).session() as session:
            return await subscribers.own_account(session, principal, number)
    except AccountNotFound:
        raise PageNotFound(number) from None


async def statements_of(request: Request, principal: Principal) -> list[tuple[Account, Statement]]:
    """Every account of the customer with its statement (what the header and lists show)."""
    db = database_of(request)
    async with db.session() as session:
        accounts = await subscribers.own_accounts(session, principal)
    return [(a, await read_statement(db.engine, a.number)) for a in accounts]


@dataclass(frozen=True, slots=True)
class Header:
    """The header of every logged-in page: one account's figures, or the customer's totals."""

    balance_minor: int
    debt_minor: int
    currency: str
    accounts: int
    account_number: str | None

    @classmethod
    def of(cls, statements: list[Statement], focus: str | None = None) -> Header:
        chosen = [s for s in statements if s.account_number == focus] if focus else []
        shown = chosen or statements
        return cls(
            balance_minor=sum(s.balance_minor for s in shown),
            debt_minor=sum(s.debt_minor for s in shown),
            currency=shown[0].currency if shown else "RUB",
            accounts=len(shown),
            account_number=chosen[0].account_number if chosen else None,
        )


def check_form(request: Request, submitted: str | None) -> None:
    """Refuse a form without this browser's CSRF token (``CsrfRefused`` → the 403 page)."""
    check_csrf(request, submitted, settings_of(request))


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A cabinet page with a CSRF token for its forms (``csrf`` in the template)."""
    holder = Response()
    token = csrf_token(request, holder, settings_of(request))
    response = render(request, name, {"csrf": token, **(context or {})}, status_code=status_code)
    for value in holder.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", value)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


async def render_page(
    request: Request,
    principal: Principal,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    statements: list[Statement] | None = None,
    focus: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A logged-in page: the header's balance and debt (of ``focus`` when given), CSRF, no-store.

    Pass ``statements`` when the page has read them already, so they are not read twice.
    """
    if statements is None:
        statements = [s for _a, s in await statements_of(request, principal)]
    header = Header.of(statements, focus)
    response = page(
        request,
        name,
        {"header": header, "principal": principal, "logged_in": True, **(context or {})},
        status_code=status_code,
    )
    response.headers["cache-control"] = "no-store"
    return response


def login_redirect(request: Request, exc: Exception) -> Response:
    # Back to the page after the login; a form's POST is not replayed (its page is the default).
    wanted = exc.next_path if isinstance(exc, LoginRequired) and request.method == "GET" else None
    target = safe_next(wanted)
    response = RedirectResponse(f"/cabinet/login?next={quote(target)}", status_code=303)
    if request.cookies.get(SESSION_COOKIE):
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def not_found_page(request: Request, _exc: Exception) -> Response:
    return page(request, "cabinet/not_found.html", status_code=404)
