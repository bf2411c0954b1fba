"""Everything under /console in one call from ``app.py``: routers, handlers, headers, static.

A helper adding console pages adds its router to ``ROUTERS`` here (and a nav link to
``templates/console/_layout.html``), and guards each page with ``session.console_may(action)``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from abonent.web.console import cases, collections, login, notices, people
from abonent.web.console.session import exception_handlers
from abonent.web.security import SecurityHeaders
from abonent.web.templating import STATIC_DIR

ROUTERS: tuple[APIRouter, ...] = (
    login.router,
    people.router,
    collections.router,
    notices.router,
    cases.router,
)


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    for exc, handler in exception_handlers().items():
        app.add_exception_handler(exc, handler)
    app.mount(
        "/console/static", StaticFiles(directory=STATIC_DIR / "console"), name="console-static"
    )
    # no-store on every console page; only the stylesheet may be cached.
    app.add_middleware(  # noqa: S604 - `shell` names the cacheable paths, not a subprocess
        SecurityHeaders, prefixes=("/console",), shell=("/console/static/",)
    )
