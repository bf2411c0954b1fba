"""``/cabinet/check-sms``: anyone with a debt SMS checks that it is ours (code + the account's
last 4 digits) and reports one that is not. No login; both are rate-limited per address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.api.deps import client_of, database_of
from abonent.kit.errors import InvalidInput
from abonent.notices import service as notices
from abonent.throttle.errors import RateLimited
from abonent.web.cabinet.login import too_many
from abonent.web.cabinet.session import N_, check_form, page, settings_of

router = APIRouter(prefix="/cabinet", include_in_schema=False)
CsrfField = Annotated[str | None, Form(max_length=256)]
TEMPLATE = "cabinet/check_sms.html"


def _page(request: Request, status_code: int = 200, **context: object) -> HTMLResponse:
    base: dict[str, object] = {
        "result": None,
        "error": None,
        "report_error": None,
        "reported": False,
        "code": "",
        "last4": "",
        "sender": "",
        "text": "",
        "hotline": settings_of(request).hotline,
    }
    return page(request, TEMPLATE, {**base, **context}, status_code=status_code)


@router.get("/check-sms", response_class=HTMLResponse)
async def form(request: Request) -> Response:
    return _page(request)


@router.post("/check-sms", response_class=HTMLResponse)
async def check(
    request: Request,
    code: Annotated[str, Form(max_length=16)] = "",
    last4: Annotated[str, Form(max_length=8)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    check_form(request, csrf_token)
    client = client_of(request)

    async def work(session: AsyncSession) -> notices.Verification:
        return await notices.verify(
            session, code, last4, client_key=f"ip:{client}", settings=settings_of(request)
        )

    try:
        found = await database_of(request).run(work)
    except RateLimited as exc:
        return too_many(request, exc.retry_after_seconds)
    except InvalidInput:
        error = N_("Введите код из SMS (цифры) и 4 последние цифры лицевого счёта.")
        return _page(request, 422, error=error, code=code, last4=last4)
    return _page(request, result=found, code=code, last4=last4)


@router.get("/check-sms/report")
async def report_form(request: Request) -> Response:
    # The page after a report has this path: a language switch or a reload lands here.
    return RedirectResponse("/cabinet/check-sms", status_code=303)


@router.post("/check-sms/report", response_class=HTMLResponse)
async def report(
    request: Request,
    sender: Annotated[str, Form(max_length=64)] = "",
    text: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    check_form(request, csrf_token)
    client = client_of(request)

    async def work(session: AsyncSession) -> None:
        await notices.report(
            session,
            sender=sender,
            text=text,
            channel="cabinet",
            client_key=f"ip:{client}",
            settings=settings_of(request),
        )

    try:
        await database_of(request).run(work)
    except RateLimited as exc:
        return too_many(request, exc.retry_after_seconds)
    except InvalidInput:
        error = N_("Укажите отправителя (до 32 символов) и текст SMS (до 1000 символов).")
        return _page(request, 422, report_error=error, sender=sender, text=text)
    return _page(request, reported=True)
