"""Cabinet pages that need no login: the start page, offline page, PWA manifest, service worker,
and the language switch."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from abonent.web import i18n
from abonent.web.cabinet.templating import templates
from abonent.web.security import CsrfRefused, set_cookie

router = APIRouter(prefix="/cabinet", include_in_schema=False)
SHELL_CACHE = "public, max-age=3600"


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    language = i18n.choose(request)
    i18n.activate(language)
    page = {"lang": language, "path": request.url.path, **(context or {})}
    return templates.TemplateResponse(request, name, page, status_code=status_code)


@router.get("", response_class=HTMLResponse)
async def start(request: Request) -> HTMLResponse:
    return render(request, "cabinet/start.html")


@router.get("/offline", response_class=HTMLResponse)
async def offline(request: Request) -> HTMLResponse:
    response = render(request, "cabinet/offline.html")
    # Kept by the service worker (it holds nothing personal), but revalidated over HTTP: it is
    # in the reader's language, which the service worker's copy keeps from install time.
    response.headers["cache-control"] = "no-cache"
    response.headers["vary"] = "Cookie, Accept-Language"
    return response


@router.get("/lang/{language}")
async def switch_language(request: Request, language: str, next: str = "/cabinet") -> Response:
    # Only a path inside the cabinet: an open redirect would lend our name to phishing.
    target = (
        next
        if next.startswith("/cabinet") and "//" not in next and "\\" not in next
        else "/cabinet"
    )
    response = RedirectResponse(target, status_code=303)
    if language in i18n.LANGUAGES:
        set_cookie(
            response, request.app.state.settings, i18n.COOKIE, language, max_age=365 * 24 * 3600
        )
    return response


MANIFEST = {
    "name": "Абонент — личный кабинет",
    "short_name": "Абонент",
    "lang": "ru",
    "start_url": "/cabinet",
    "scope": "/cabinet/",
    "display": "standalone",
    "background_color": "#f3f4f7",
    "theme_color": "#e30611",
    "icons": [
        {"src": "/cabinet/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/cabinet/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
        {"src": "/cabinet/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
    ],
}


@router.get("/manifest.webmanifest")
async def manifest() -> Response:
    return Response(
        json.dumps(MANIFEST, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"cache-control": SHELL_CACHE},
    )


@router.get("/sw.js")
async def service_worker() -> Response:
    from abonent.web.cabinet.shell import SERVICE_WORKER

    return Response(
        SERVICE_WORKER,
        media_type="text/javascript",
        # The worker itself is always revalidated, so a new shell list takes effect at once.
        headers={"cache-control": "no-cache", "service-worker-allowed": "/cabinet/"},
    )


async def _csrf_refused(request: Request, _exc: Exception) -> HTMLResponse:
    # A page, not problem+json: the person submitted a form in a browser.
    return render(request, "cabinet/csrf.html", status_code=403)


def install(app: Any) -> None:
    """Routes, the shell's static files and the security headers for everything under /cabinet."""
    from starlette.staticfiles import StaticFiles

    from abonent.web.cabinet import accounts, cases, check_sms, find, login, pay, promised, session
    from abonent.web.security import SecurityHeaders
    from abonent.web.templating import STATIC_DIR

    app.include_router(login.router)
    app.include_router(accounts.router)
    app.include_router(check_sms.router)
    app.include_router(cases.router)
    app.include_router(pay.router)
    app.include_router(promised.router)
    app.include_router(find.router)
    app.include_router(router)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(session.LoginRequired, session.login_redirect)
    app.add_exception_handler(session.PageNotFound, session.not_found_page)
    app.mount(
        "/cabinet/static", StaticFiles(directory=STATIC_DIR / "cabinet"), name="cabinet-static"
    )
    app.add_middleware(SecurityHeaders)
