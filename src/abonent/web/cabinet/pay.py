"""Paying by card from the cabinet: the debt in two clicks, one service's debt, or any amount.

Click one posts a payment form (the amount prefilled with the debt) and lands on the acquirer's
page; click two pays there; the acquirer sends the payer back to ``/cabinet/pay/{id}``, which
asks the provider when the webhook has not come yet and shows the outcome with the new balance.

Every rendered form carries its own Idempotency-Key (``form_key()`` in the template): a double
submit, or the same form sent again, starts one card payment, never two. The payment itself is
the acquiring service's (``payments.acquiring.service``), as for the API.
"""

from __future__ import annotations

import json
from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from abonent.api.acquiring_deps import provider_of
from abonent.api.deps import database_of
from abonent.config import get_settings
from abonent.kit.actor import Actor
from abonent.kit.errors import AbonentError, InvalidInput
from abonent.kit.inputs import INT64_MAX
from abonent.kit.money import parse_amount
from abonent.payments import idempotency as idem
from abonent.payments.acquiring import service as cards
from abonent.statement.reader import read_statement
from abonent.subscribers.service import Principal
from abonent.web.cabinet.session import (
    N_,
    Cabinet,
    PageNotFound,
    check_form,
    own_account,
    render_page,
    settings_of,
)

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/cabinet", include_in_schema=False)

MAX_AMOUNT_MINOR = 100_000_000
"""One million roubles: more than that by card from the cabinet is a typo."""

REFUSALS = {
    "amount_malformed": N_("Введите сумму в рублях, например 500 или 500,50."),
    "amount_precision": N_("Не больше двух знаков после запятой."),
    "amount_negative": N_("Сумма должна быть больше нуля."),
    "amount_invalid": N_("Сумма должна быть больше нуля."),
    "amount_too_large": N_("Слишком большая сумма для оплаты картой."),
    "account_not_payable": N_("Счёт закрыт и долга по нему нет: оплата не нужна."),
    "payment_exceeds_closed_debt": N_("Счёт закрыт: можно оплатить не больше его долга."),
    "idempotency_key_reused": N_(
        "Эта форма уже отправлена с другой суммой. Откройте страницу заново."
    ),
    "idempotency_key_in_progress": N_("Платёж уже начат, подождите несколько секунд."),
    "acquiring_provider_unavailable": N_(
        "Платёжный сервис не ответил. Деньги не списаны, попробуйте позже."
    ),
}
GENERIC = N_("Оплату сейчас начать нельзя. Деньги не списаны.")


def subscriber_actor(principal: Principal) -> Actor:
    return Actor(f"cabinet:customer:{principal.customer_id}", "subscriber")


def _amount(raw: str) -> int:
    text = raw.replace("\u00a0", "").replace(" ", "").replace("₽", "")
    amount = parse_amount(text)
    if amount <= 0:
        raise InvalidInput("amount must be positive", code="amount_negative")
    if amount > MAX_AMOUNT_MINOR:
        raise InvalidInput("amount too large", code="amount_too_large")
    return amount


async def _refused(
    request: Request, principal: Principal, number: str, code: str, status: int
) -> HTMLResponse:
    return await render_page(
        request,
        principal,
        "cabinet/pay_refused.html",
        {"number": number, "reason": REFUSALS.get(code, GENERIC)},
        focus=number,
        status_code=status,
    )


@router.post("/accounts/{number}/pay", response_class=HTMLResponse)
async def pay(
    request: Request,
    principal: Cabinet,
    number: Annotated[str, Path()],
    amount: Annotated[str, Form(max_length=32)] = "",
    idempotency_key: Annotated[str | None, Form(max_length=256)] = None,
    csrf_token: Annotated[str | None, Form(max_length=256)] = None,
) -> Response:
    check_form(request, csrf_token)
    account = await own_account(request, principal, number)
    try:
        amount_minor = _amount(amount)
        key = idem.validate_key(idempotency_key)
    except AbonentError as exc:
        return await _refused(request, principal, account.number, exc.code, 422)
    db, settings = database_of(request), settings_of(request)
    try:
        found = await idem.claim(
            db,
            scope=f"cabinet:customer:{principal.customer_id}",
            key=key,
            fingerprint=idem.fingerprint(
                "POST", request.url.path, {"amount_minor": amount_minor, "currency": "RUB"}
            ),
            ttl=idem.ttl(get_settings().idempotency_ttl_hours),
        )
    except AbonentError as exc:
        return await _refused(request, principal, account.number, exc.code, exc.status)
    if isinstance(found, idem.Stored):
        return await _replay(request, principal, account.number, found)
    base = settings.acquiring.public_base_url.rstrip("/")
    try:
        view = await cards.create(
            db,
            provider_of(request),
            settings,
            account_number=account.number,
            amount_minor=amount_minor,
            currency=account.currency,
            return_url=f"/cabinet/accounts/{account.number}",
            actor=subscriber_actor(principal),
            landing_url=lambda card_id: f"{base}/cabinet/pay/{card_id}",
        )
    except AbonentError as exc:
        if exc.status >= 500:
            await idem.release(db, found)
        else:
            await idem.complete(db, found, exc.status, json.dumps({"error": exc.code}).encode())
        return await _refused(request, principal, account.number, exc.code, exc.status)
    except BaseException:
        await idem.release(db, found)
        raise
    await idem.complete(db, found, 303, json.dumps({"card_id": view.card.id}).encode())
    return RedirectResponse(view.card.redirect_url or f"/cabinet/pay/{view.card.id}", 303)


async def _replay(
    request: Request, principal: Principal, number: str, stored: idem.Stored
) -> Response:
    """The same form again: the payment it started, or the refusal it got."""
    body = json.loads(stored.body or "{}")
    if "card_id" not in body:
        return await _refused(request, principal, number, str(body.get("error")), stored.status)
    view = await cards.get(database_of(request), int(body["card_id"]))
    if view.card.status == "pending" and view.card.redirect_url:
        return RedirectResponse(view.card.redirect_url, 303)
    return RedirectResponse(f"/cabinet/pay/{view.card.id}", 303)


@router.get("/pay/{card_id}", response_class=HTMLResponse)
async def result(
    request: Request,
    principal: Cabinet,
    card_id: Annotated[int, Path(ge=1, le=INT64_MAX)],
) -> HTMLResponse:
    """Where the acquirer sends the payer back: the outcome and the new balance."""
    db = database_of(request)
    try:
        view = await cards.get(db, card_id)
    except cards.CardPaymentNotFound:
        raise PageNotFound(str(card_id)) from None
    # Someone else's payment answers exactly as one that does not exist.
    account = await own_account(request, principal, view.account_number)
    if view.card.status in ("pending", "unknown"):
        try:
            card = await cards.refresh(db, provider_of(request), card_id)
            view = cards.CardView(card, view.account_number)
        except AbonentError as exc:
            log.warning("cabinet.card_refresh_failed", card_payment_id=card_id, code=exc.code)
    statement = await read_statement(db.engine, account.number)
    return await render_page(
        request,
        principal,
        "cabinet/pay_result.html",
        {"card": view.card, "number": account.number, "statement": statement},
        focus=account.number,
    )
