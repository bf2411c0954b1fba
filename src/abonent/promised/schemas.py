"""What the promised payment shows: an offer, and the one in force (in the statement too)."""

from __future__ import annotations

import datetime as dt

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
