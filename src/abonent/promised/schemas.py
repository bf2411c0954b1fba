"""What the promised payment shows: an offer, and the one in force (in the statement too)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel


class OfferLine(BaseModel):
    amount_minor: int
    fee_minor: int


class Offer(BaseModel):
    """What the account may take now: the menu of amounts, each with its fee."""

    account_number: str
    currency: str
    max_minor: int
    min_minor: int
    term_days: int
    due_date: dt.date
    """When a promised payment taken now falls due."""
    lines: list[OfferLine]


class PromisedOut(BaseModel):
    id: int
    account_number: str
    amount_minor: int
    fee_minor: int
    currency: str
    taken_at: dt.datetime
    expires_at: dt.datetime
    due_date: dt.date
    status: str
    """'in_force', 'repaid' or 'expired'."""
    owed_minor: int
    """What is still unpaid of the repayment and the fee."""
    channel: str


class PromisedView(BaseModel):
    """``GET /v1/accounts/{number}/promised-payment``: the one in force, the offer, or why not."""

    account_number: str
    in_force: PromisedOut | None
    offer: Offer | None
    refusal: dict[str, str] | None
    """``{"code": …, "reason": …}`` when nothing can be taken now."""


def summary(
    *,
    amount_minor: int,
    fee_minor: int,
    currency: str,
    taken_at: dt.datetime,
    expires_at: dt.datetime,
    due_date: dt.date,
    owed_minor: int,
    repayment_owed_minor: int,
) -> dict[str, Any]:
    """The statement's ``promised_payment``: JSON-ready, the same from either read path.

    ``status`` is 'repaid' as soon as the repayment item is cleared (the fee may still be owed,
    as any charge), even before the expiry job records it.
    """
    return {
        "amount_minor": amount_minor,
        "fee_minor": fee_minor,
        "currency": currency,
        "taken_at": taken_at.astimezone(dt.UTC).isoformat(),
        "expires_at": expires_at.astimezone(dt.UTC).isoformat(),
        "due_date": due_date.isoformat(),
        "owed_minor": owed_minor,
        "status": "in_force" if repayment_owed_minor > 0 else "repaid",
    }
