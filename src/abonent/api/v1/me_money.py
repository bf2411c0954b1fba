"""The subscriber's money moves on one own account: the promised payment and card payments.

Both POSTs require ``Idempotency-Key`` (DESIGN.md §4), scoped to the customer: a retry with the
same key (from any of the customer's sessions) gets the first answer and moves nothing again.
Another customer's account, or another account's card payment, answers exactly as an unknown one.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts.service import get_account
from abonent.api.acquiring_deps import AppSettings, Provider
from abonent.api.deps import Own, database_of
from abonent.api.idempotency import IdempotencyKeyHeader, Reply, json_reply, run_idempotent
from abonent.api.v1.card_payments import card_out
from abonent.api.v1.me_schemas import MeCardPaymentCreate, MePromisedCreate
from abonent.api.v1.responses import PROBLEMS, problem
from abonent.kit.actor import Actor
from abonent.kit.errors import AbonentError
from abonent.kit.inputs import INT64_MAX
from abonent.payments import idempotency as idem
from abonent.payments.acquiring import service as cards
from abonent.payments.schemas import CardPaymentOut
from abonent.promised import service as promised
from abonent.promised.schemas import PromisedOut, PromisedView
from abonent.subscribers.service import Principal

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/me/accounts/{number}", tags=["subscriber"], responses=PROBLEMS)

CardId = Annotated[int, Path(ge=1, le=INT64_MAX)]
NO_SUCH_CARD_PAYMENT = "no such card payment"

_KEYED: dict[int | str, dict[str, Any]] = {
    400: problem("Idempotency-Key missing or malformed, or the body is not JSON"),
    409: problem("a request with this Idempotency-Key is still running"),
}


def subscriber_actor(principal: Principal) -> Actor:
    """Who the audit trail names: the customer, through which session."""
    return Actor(f"subscriber:{principal.customer_id}:session:{principal.session_id}")


# --- the promised payment ------------------------------------------------------------------------


@router.get("/promised-payment", response_model=PromisedView)
async def promised_payment(own: Own, request: Request) -> PromisedView:
    """The promised payment in force, else the offer (amounts with their fees, due date), else
    why not (``refusal``: a code and the reason in Russian)."""
    async with database_of(request).session() as session:
        account = await get_account(session, own.number)
        return await promised.view(session, account)


@router.post(
    "/promised-payment",
    status_code=201,
    response_model=PromisedOut,
    responses={
        **_KEYED,
        422: problem("refused by a rule (code and reason), or an amount the offer does not list"),
    },
)
async def take_promised_payment(
    own: Own,
    body: MePromisedCreate,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Take a promised payment of one of the offered amounts. Requires ``Idempotency-Key``."""
    db = database_of(request)
    actor = subscriber_actor(own.principal)

    async def work(claimed: idem.Claim | None) -> Reply:
        assert claimed is not None  # required=True

        async def unit(session: AsyncSession) -> Reply:
            account = await get_account(session, own.number)
            taken = await promised.take(
                session, account, body.amount_minor, channel="api", actor=actor
            )
            out = await promised.out(session, taken.promised, account.number)
            reply = json_reply(201, out, stored=True)
            await idem.store(session, claimed, reply.status, reply.body)
            return reply

        return await db.run(unit)

    payload = {"account_number": own.number, **body.model_dump(mode="json")}
    return await run_idempotent(request, db, idempotency_key, payload, work, required=True)


# --- card payments -------------------------------------------------------------------------------


@router.post(
    "/card-payments",
    status_code=201,
    response_model=CardPaymentOut,
    responses={
        **_KEYED,
        422: problem("invalid amount, or the account cannot be paid (closed)"),
        503: problem("the provider did not answer; nothing was charged"),
    },
)
async def start_card_payment(
    own: Own,
    body: MeCardPaymentCreate,
    request: Request,
    provider: Provider,
    settings: AppSettings,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Start a card payment to the account in its currency. Open ``redirect_url`` (the
    provider's card page); the payer comes back to ``result_url``; poll
    ``GET …/card-payments/{id}`` for the outcome. Requires ``Idempotency-Key``: a retry returns
    the same payment instead of starting another."""
    db = database_of(request)
    actor = subscriber_actor(own.principal)

    async def work(_claimed: idem.Claim | None) -> Reply:
        view = await cards.create(
            db,
            provider,
            settings,
            account_number=own.number,
            amount_minor=body.amount_minor,
            currency=own.currency,
            return_url=body.return_url,
            actor=actor,
        )
        return json_reply(201, card_out(view, settings))

    payload = {"account_number": own.number, **body.model_dump(mode="json")}
    return await run_idempotent(request, db, idempotency_key, payload, work, required=True)


@router.get("/card-payments/{card_id}", response_model=CardPaymentOut)
async def card_payment(
    own: Own, card_id: CardId, request: Request, provider: Provider, settings: AppSettings
) -> CardPaymentOut:
    """A card payment of this account: ``pending`` (the payer is on the card page),
    ``succeeded`` (booked: ``payment_id``), ``failed`` (``failure_reason``) or ``unknown`` (the
    provider has not said; it settles later, never charged twice). While pending or unknown,
    each read asks the provider, so polling this is how the app learns the outcome."""
    db = database_of(request)
    try:
        view = await cards.get(db, card_id)
    except cards.CardPaymentNotFound:
        raise cards.CardPaymentNotFound(NO_SUCH_CARD_PAYMENT) from None
    if view.account_number != own.number:
        raise cards.CardPaymentNotFound(NO_SUCH_CARD_PAYMENT)
    if view.card.status in ("pending", "unknown"):
        try:
            view = cards.CardView(await cards.refresh(db, provider, card_id), own.number)
        except AbonentError as exc:
            # What we know stands; the settlement job asks again later.
            log.warning("acquiring.me_refresh_failed", card_payment_id=card_id, code=exc.code)
    return card_out(view, settings)
