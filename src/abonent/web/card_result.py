"""The page the payer comes back to from the card provider: ``/pay/card/{id}/result``.

Public (the payer has no API key): the signed ``t`` token in the link is what lets them see it.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from abonent.api.acquiring_deps import AppSettings, Provider
from abonent.api.deps import Db
from abonent.api.v1.payments import MAX_ID
from abonent.kit.errors import AbonentError
from abonent.payments.acquiring import service as cards
from abonent.web.templating import templates

log = structlog.get_logger(__name__)

router = APIRouter()


@router.get("/pay/card/{card_id}/result", response_class=HTMLResponse, include_in_schema=False)
async def result_page(
    card_id: Annotated[str, Path(max_length=20)],
    request: Request,
    db: Db,
    provider: Provider,
    settings: AppSettings,
    t: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """What the payer sees on coming back from the provider (Russian; works on a phone)."""
    number = int(card_id) if card_id.isdigit() else 0
    if not 1 <= number <= MAX_ID or not cards.token_ok(settings, number, t):
        return _not_found(request)
    try:
        view = await cards.get(db, number)
        if view.card.status in ("pending", "unknown"):
            # The payer may be back before the webhook (or instead of it): ask the provider.
            card = await cards.refresh(db, provider, number)
            view = cards.CardView(card, view.account_number)
    except cards.CardPaymentNotFound:
        return _not_found(request)
    except AbonentError as exc:
        log.warning("acquiring.result_refresh_failed", card_payment_id=number, code=exc.code)
        view = await cards.get(db, number)
    return templates.TemplateResponse(
        request,
        "payments/card_result.html",
        {"card": view.card, "account_number": view.account_number},
        headers={"Cache-Control": "no-store"},
    )


def _not_found(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "payments/not_found.html",
        {},
        status_code=404,
        headers={"Cache-Control": "no-store"},
    )
