"""The front page: where an operator who just ran `make demo` finds everything."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from abonent import __version__
from abonent.web.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    db = request.app.state.db
    return templates.TemplateResponse(
        request,
        "home/index.html",
        {"version": __version__, "database": "SQLite" if db.is_sqlite else "PostgreSQL"},
    )
