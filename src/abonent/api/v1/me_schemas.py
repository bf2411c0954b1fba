"""What ``/v1/me/accounts/{number}/…`` reads and writes: the subscriber's own view.

Narrower than the staff schemas: no ledger names, actors, sources or agents' transaction ids,
only what a subscriber's app shows. Money: integer kopecks plus a currency code.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from abonent.kit.inputs import PositiveMinor, Text
from abonent.models import Payment
from abonent.payments.schemas import AmountMinor
from abonent.statement.history import HistoryLine


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeEntry(BaseModel):
    """One entry of the account's history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 812,
                    "business_date": "2026-11-30",
                    "kind": "fee",
                    "memo": "Абонентская плата за ноябрь",
                    "created_at": "2026-11-30T21:00:03Z",
                    "reverses_entry_id": None,
                    "amount_minor": -45000,
                    "currency": "RUB",
                }
            ]
        }
    )

    id: int
    business_date: dt.date
    kind: str = Field(description="charge, fee, payment, reversal, promised, write_off")
    memo: str
    created_at: dt.datetime
    reverses_entry_id: int | None
    amount_minor: int = Field(
        description="what it did to the balance, kopecks: a payment > 0, a charge < 0"
    )
    currency: str

    @classmethod
    def of(cls, line: HistoryLine, currency: str) -> MeEntry:
        return cls(
            id=line.id,
            business_date=line.business_date,
            kind=line.kind,
            memo=line.memo,
            created_at=line.created_at,
            reverses_entry_id=line.reverses_entry_id,
            amount_minor=line.balance_effect_minor,
            currency=currency,
        )


class MeEntryPage(BaseModel):
    items: list[MeEntry]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: no more")


class MePayment(BaseModel):
    """A payment booked to the account (card payments in flight: ``…/card-payments/{id}``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4417,
                    "amount_minor": 105000,
                    "currency": "RUB",
                    "method": "card",
                    "status": "succeeded",
                    "created_at": "2026-12-01T09:12:44Z",
                    "booked_at": "2026-12-01T09:12:45Z",
                }
            ]
        }
    )

    id: int
    amount_minor: int
    currency: str
    method: str = Field(description="card, agent, bank, api, office, transfer, …")
    status: str = Field(description="'succeeded' (booked) or 'reversed'")
    created_at: dt.datetime
    booked_at: dt.datetime | None

    @classmethod
    def of(cls, p: Payment) -> MePayment:
        return cls(
            id=p.id,
            amount_minor=p.amount_minor,
            currency=p.currency,
            method=p.method,
            status=p.status,
            created_at=p.created_at,
            booked_at=p.booked_at,
        )


class MePaymentPage(BaseModel):
    items: list[MePayment]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: no more")


class MePromisedCreate(_Input):
    """Take a promised payment: one of the amounts the offer lists (``offer.lines``)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"amount_minor": 30000}]}
    )

    amount_minor: PositiveMinor = Field(description="one of the offered amounts, in kopecks")


class MeCardPaymentCreate(_Input):
    """Start a card payment to the account, in its currency; the app opens ``redirect_url``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"amount_minor": 105000, "return_url": "https://app.example.ru/paid"}]
        },
    )

    amount_minor: AmountMinor
    return_url: Annotated[StrictStr, Field(pattern=r"^https?://[^\s]+$"), Text(1024)] | None = (
        Field(default=None, description="http(s) link the result page offers to go back by")
    )
