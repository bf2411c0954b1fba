"""Card acquiring on the wire: the card-payments API and the provider's webhook.

Mounted at the root: ``/v1/card-payments`` and ``/webhooks/acquiring/{provider}``. The payer's
result page is HTML and lives in ``web/card_result.py``; the sandbox provider's pages in
``web/sandbox.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse

from abonent.api.acquiring_deps import AppSettings, Provider
from abonent.api.deps import Db, require
from abonent.api.idempotency import IdempotencyKeyHeader, Reply, json_reply, run_idempotent
from abonent.api.v1.payments import MAX_ID
from abonent.api.v1.responses import PROBLEMS, problem
from abonent.config import Settings
from abonent.kit.actor import Actor
from abonent.kit.inputs import Text
from abonent.payments import idempotency as idem
from abonent.payments.acquiring import service as cards
from abonent.payments.schemas import CardPaymentCreate, CardPaymentOut

router = APIRouter(responses=PROBLEMS)

CardId = Annotated[int, Path(ge=1, le=MAX_ID)]


def card_out(view: cards.CardView, settings: Settings) -> CardPaymentOut:
    card = view.card
    started = not card.provider_ref.startswith("new:")
    return CardPaymentOut(
        id=card.id,
        account_number=view.account_number,
        amount_minor=card.amount_minor,
        currency=card.currency,
        provider=card.provider,
        provider_ref=card.provider_ref if started else None,
        status=card.status,
        redirect_url=card.redirect_url,
        result_url=cards.result_url(settings, card.id),
        return_url=card.return_url or None,
        payment_id=card.payment_id,
        failure_reason=card.failure_reason,
        created_at=card.created_at,
        updated_at=card.updated_at,
    )


@router.post(
    "/v1/card-payments",
    status_code=201,
    response_model=CardPaymentOut,
    tags=["card payments"],
    responses={503: problem("the provider did not answer; nothing was charged")},
)
async def create_card_payment(
    body: CardPaymentCreate,
    request: Request,
    db: Db,
    provider: Provider,
    settings: AppSettings,
    actor: Annotated[Actor, Depends(require("card_payments.create"))],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Start a card payment: send the payer to ``redirect_url``; they come back to
    ``result_url``. An ``Idempotency-Key`` is optional here (nothing is charged yet); with one, a
    retry returns the same payment instead of starting another."""

    async def work(_claimed: idem.Claim | None) -> Reply:
        view = await cards.create(
            db,
            provider,
            settings,
            account_number=body.account_number,
            amount_minor=body.amount_minor,
            currency=body.currency,
            return_url=body.return_url,
            actor=actor,
        )
        return json_reply(201, card_out(view, settings))

    return await run_idempotent(
        request, db, idempotency_key, body.model_dump(mode="json"), work, required=False
    )


@router.get("/v1/card-payments/{card_id}", response_model=CardPaymentOut, tags=["card payments"])
async def get_card_payment(
    card_id: CardId,
    db: Db,
    settings: AppSettings,
    _actor: Annotated[Actor, Depends(require("payments.read"))],
) -> CardPaymentOut:
    return card_out(await cards.get(db, card_id), settings)


@router.post("/webhooks/acquiring/{provider_name}", tags=["card payments"])
async def acquiring_webhook(
    provider_name: Annotated[str, Path(), Text(32)],
    request: Request,
    db: Db,
    provider: Provider,
) -> JSONResponse:
    """The provider tells us how a payment ended. Signed (see docs/payments.md); a forged,
    stale or malformed notice is refused, a replayed one (same event id) changes nothing."""
    if provider_name != provider.name:
        raise cards.ProviderNotConfigured(f"no acquiring provider {provider_name!r} here")
    body = await request.body()
    result = await cards.handle_webhook(db, provider, request.headers, body)
    return JSONResponse(
        {
            "result": result.result,
            "card_payment_id": result.card_payment_id,
            "status": result.status,
        }
    )
