"""The promised payment in the cabinet: the offer (a menu of amounts), taking it, its state.

The rules and the refusals are the promised-payment service's, as at the desk and on USSD; a
refusal is shown in words (the service's own Russian sentence, or its English for the code).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.api.deps import database_of
from abonent.kit.errors import AbonentError
from abonent.models import Account
from abonent.promised import service as promised
from abonent.subscribers.service import Principal
from abonent.web.cabinet.pay import subscriber_actor
from abonent.web.cabinet.session import N_, Cabinet, check_form, own_account, render_page

router = APIRouter(prefix="/cabinet", include_in_schema=False)

Number = Annotated[str, Path()]
REASONS = {
    "promised_disabled": N_("Обещанный платёж сейчас не предоставляется."),
    "promised_account_closed": N_("Лицевой счёт закрыт."),
    "promised_account_suspended": N_("Лицевой счёт приостановлен."),
    "promised_in_force": N_("На счёте уже действует обещанный платёж."),
    "promised_account_too_young": N_("Счёт открыт слишком недавно."),
    "promised_debt_too_large": N_("Долг больше допустимого для обещанного платежа."),
    "promised_monthly_limit": N_(
        "В этом месяце обещанный платёж уже брали максимальное число раз."
    ),
    "promised_not_needed": N_("Не нужен: просроченного долга нет."),
    "promised_too_little_history": N_("Начислений за последние месяцы слишком мало."),
    "promised_amount_invalid": N_("Такая сумма не предлагается: выберите из списка."),
}
GENERIC = N_("Обещанный платёж сейчас подключить нельзя.")


def _reason(code: str | None, detail: str | None) -> dict[str, str | None]:
    return {"generic": REASONS.get(code or "", GENERIC), "detail": detail}


async def _page(
    request: Request,
    principal: Principal,
    account: Account,
    *,
    refusal: dict[str, str | None] | None = None,
    taken: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    async with database_of(request).session() as session:
        view = await promised.view(session, account)
    if refusal is None and view.refusal is not None:
        refusal = _reason(view.refusal.get("code"), view.refusal.get("reason"))
    return await render_page(
        request,
        principal,
        "cabinet/promised.html",
        {
            "number": account.number,
            "view": view,
            "refusal": None if view.in_force and not status_code >= 400 else refusal,
            "taken": taken,
        },
        focus=account.number,
        status_code=status_code,
    )


@router.get("/accounts/{number}/promised", response_class=HTMLResponse)
async def offer(
    request: Request, principal: Cabinet, number: Number, taken: int = 0
) -> HTMLResponse:
    account = await own_account(request, principal, number)
    return await _page(request, principal, account, taken=bool(taken))


@router.post("/accounts/{number}/promised", response_class=HTMLResponse)
async def take(
    request: Request,
    principal: Cabinet,
    number: Number,
    amount_minor: Annotated[int, Form(ge=1, le=10**12)],
    csrf_token: Annotated[str | None, Form(max_length=256)] = None,
) -> Response:
    check_form(request, csrf_token)
    account = await own_account(request, principal, number)
    actor = subscriber_actor(principal)

    async def work(session: AsyncSession) -> None:
        mine = await session.get(Account, account.id)
        assert mine is not None
        await promised.take(session, mine, amount_minor, channel="cabinet", actor=actor)

    try:
        await database_of(request).run(work)
    except AbonentError as exc:
        # The service refused before changing anything (its unit of work rolled back).
        return await _page(
            request,
            principal,
            account,
            refusal=_reason(exc.code, exc.detail),
            status_code=exc.status,
        )
    return RedirectResponse(f"/cabinet/accounts/{account.number}/promised?taken=1", 303)
