"""``/console``: find a person, check their document, see every account, act on them, audit.

Every page calls ``people.service`` (which holds the rules: the role table, the identity check
that opens a person to one employee for a limited time, masking by role, the audit of every look
and action) in one unit of work of its own. A refusal is a page in Russian with its stable code.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.api.deps import database_of
from abonent.kit.errors import AbonentError, InvalidInput
from abonent.people import service as people
from abonent.people.schemas import PersonHit
from abonent.staff.principal import StaffPrincipal
from abonent.web.console.messages import words_for
from abonent.web.console.session import PREFIX, checked_form, console_may, field, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Finder = Annotated[StaffPrincipal, Depends(console_may("people.find"))]
PersonId = Annotated[int, Path(ge=1, le=2**62)]
SEARCH_KEYS = ("passport", "msisdn", "account", "contract", "smart_card", "surname")
_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")


def refused(
    request: Request,
    principal: StaffPrincipal,
    exc: AbonentError,
    *,
    back: str = PREFIX,
    title: str | None = None,
) -> HTMLResponse:
    """A refusal as a page: the Russian words, the stable code, and nothing changed."""
    status = exc.status if 400 <= exc.status < 500 else 422
    return render(
        request,
        "console/error.html",
        {"message": words_for(exc), "code": exc.code, "back": back, "title": title},
        principal=principal,
        status_code=status,
    )


def _birth_date(raw: str) -> dt.date | None:
    raw = raw.strip()
    if not raw:
        return None
    match = _DATE.match(raw)
    try:
        if match:
            return dt.date(int(match[3]), int(match[2]), int(match[1]))
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("birth date: DD.MM.YYYY", code="console.date") from None


@router.get("", response_class=HTMLResponse)
async def search_page(request: Request, principal: Finder) -> HTMLResponse:
    return render(request, "console/search.html", {"hits": None}, principal=principal)


@router.post("/search", response_class=HTMLResponse)
async def search(request: Request, principal: Finder) -> HTMLResponse:
    """A search is a POST: a passport typed in never sits in a URL, a history or an access log."""
    form = await checked_form(request)
    by = field(form, "by", 16)
    if by not in SEARCH_KEYS:
        by = "passport"
    value = field(form, by, 64).strip()
    chip = field(form, "chip_id", 64).strip()
    birth = field(form, "birth_date", 16)
    try:
        birth_date = _birth_date(birth) if by == "surname" else None
        query: dict[str, Any] = {by: value or None}
        if by == "smart_card":
            query["chip_id"] = chip or None
        if by == "surname":
            query["birth_date"] = birth_date

        async def unit(session: AsyncSession) -> list[PersonHit]:
            return await people.find(session, principal, **query)

        hits = await database_of(request).run(unit)
    except AbonentError as exc:
        return refused(request, principal, exc, title="Поиск не выполнен")
    return render(
        request,
        "console/search.html",
        {"hits": hits, "by": by},
        principal=principal,
    )
