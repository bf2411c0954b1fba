"""What the payments JSON API reads and writes. Money: integer kopecks plus a currency code."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from abonent.kit.inputs import Comment, Text

MAX_AMOUNT_MINOR = 1_000_000_000_000
"""Ten billion roubles: anything above is a client bug, not a payment."""

AmountMinor = Annotated[
    StrictInt,
    Field(gt=0, le=MAX_AMOUNT_MINOR, description="kopecks, an integer > 0", examples=[50000]),
]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$", examples=["RUB"])]
AccountNumber = Annotated[StrictStr, Field(examples=["100000000009"]), Text(32, min_length=1)]

API_METHODS = ("api", "office", "transfer")
"""Methods a caller of the JSON API may book; agents, cards and registries have their own doors."""


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaymentCreate(_Input):
    account_number: AccountNumber
    amount_minor: AmountMinor
    currency: Currency
    method: Literal["api", "office", "transfer"]
    external_id: (
        Annotated[
            StrictStr,
            Field(
                pattern=r"^[\x21-\x7e]{1,128}$",
                description="your own transaction id; the payment is idempotent on it too",
            ),
        ]
        | None
    ) = None
    comment: Comment | None = None


class PaymentOut(BaseModel):
    id: int
    account_number: str
    amount_minor: int
    currency: str
    method: str
    status: str
    """'succeeded' (booked) or 'reversed'; card payments in flight are at /v1/card-payments."""
    source: str
    source_txn_id: str
    comment: str | None
    created_at: dt.datetime
    booked_at: dt.datetime | None
    entry_id: int | None
    reversal_entry_id: int | None
    reversal_reason: str | None


class PaymentPage(BaseModel):
    items: list[PaymentOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: no more")


class ReverseRequest(_Input):
    reason: Annotated[StrictStr, Text(255, min_length=1)]


class CardPaymentCreate(_Input):
    account_number: AccountNumber
    amount_minor: AmountMinor
    currency: Currency
    return_url: Annotated[StrictStr, Field(pattern=r"^https?://[^\s]+$"), Text(1024)] | None = None


class CardPaymentOut(BaseModel):
    id: int
    account_number: str
    amount_minor: int
    currency: str
    provider: str
    provider_ref: str | None
    status: str
    """'pending', 'succeeded', 'failed', 'unknown'."""
    redirect_url: str | None
    """The provider's page where the payer enters the card."""
    result_url: str
    """Our page that shows the payer how it ended."""
    return_url: str | None
    payment_id: int | None
    failure_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
