"""Find an account number without logging in: a TV smart card with its chip ID, or an internet
contract with the holder's surname (both halves must match; either alone reveals nothing).

The same services and the same per-address limit as ``GET /v1/public/account-number``: the
look-ups of the page and of the API count together.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.api.deps import client_of, database_of
from abonent.config import get_settings
from abonent.subscribers import service as subscribers
from abonent.throttle import service as throttle
from abonent.throttle.errors import RateLimited
from abonent.web.cabinet.login import too_many
from abonent.web.cabinet.session import N_, check_form, page

router = APIRouter(prefix="/cabinet", include_in_schema=False)

Field64 = Annotated[str, Form(max_length=64)]


@router.get("/find", response_class=HTMLResponse)
async def find_form(request: Request) -> HTMLResponse:
    return page(request, "cabinet/find.html", {"found": None, "error": None, "form": {}})


@router.post("/find", response_class=HTMLResponse)
async def find(
    request: Request,
    kind: Annotated[str, Form(max_length=16)] = "",
    smart_card: Field64 = "",
    chip_id: Field64 = "",
    contract: Field64 = "",
    surname: Field64 = "",
    csrf_token: Annotated[str | None, Form(max_length=256)] = None,
) -> Response:
    check_form(request, csrf_token)
    form = {
        "kind": kind,
        "smart_card": smart_card,
        "chip_id": chip_id,
        "contract": contract,
        "surname": surname,
    }
    tv = kind == "tv"
    if kind not in ("tv", "internet") or not (
        (smart_card.strip() and chip_id.strip()) if tv else (contract.strip() and surname.strip())
    ):
        error = N_("Заполните оба поля выбранной формы.")
        return page(
            request,
            "cabinet/find.html",
            {"found": None, "error": error, "form": form},
            status_code=422,
        )
    limit = get_settings().subscriber_auth.public_lookups_per_client_per_hour
    key = f"public-lookup:{client_of(request)}"

    async def work(session: AsyncSession) -> str | None:
        await throttle.hit(session, key, limit, dt.timedelta(hours=1))
        if tv:
            return await subscribers.find_tv_account(session, smart_card, chip_id)
        return await subscribers.find_internet_account(session, contract, surname)

    try:
        found = await database_of(request).run(work)
    except RateLimited as exc:
        return too_many(request, exc.retry_after_seconds)
    missing = None if found else N_("Ничего не нашлось: проверьте оба значения.")
    return page(
        request,
        "cabinet/find.html",
        {"found": found, "error": missing, "form": form},
        status_code=200 if found else 404,
    )
