from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class ServiceDebt(BaseModel):
    service_id: int | None
    kind: str
    """'mobile', 'internet', 'tv', or 'account' for items not tied to a service."""
    kind_label: str
    label: str
    debt_minor: int
    overdue_minor: int


class Ageing(BaseModel):
    """Open debt by days past its due date, in kopecks."""

    not_due: int = 0
    days_0_30: int = 0
    days_31_60: int = 0
    days_61_90: int = 0
    days_90_plus: int = 0


class Statement(BaseModel):
    """What every channel shows. Money fields are integers in kopecks of ``currency``."""

    account_number: str
    status: str
    currency: str
    balance_minor: int = Field(description="positive: prepaid money; negative: owed")
    credit_limit_minor: int = Field(description="the credit the account may use; 0 once closed")
    available_minor: int = Field(description="balance plus credit limit")
    debt_minor: int = Field(description="everything still owed on open charges")
    overdue_minor: int = Field(description="owed past its due date")
    debt_by_service: list[ServiceDebt]
    next_due_date: dt.date | None = Field(description="earliest due date of debt not yet overdue")
    ageing: Ageing
    promised_payment: dict[str, Any] | None = None
    as_of: dt.date


def promised_summary(
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
