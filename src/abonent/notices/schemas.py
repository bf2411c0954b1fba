"""What the notice check and the suspicious-SMS report take and answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel

from abonent.kit.inputs import Text


class VerifyIn(BaseModel):
    code: Annotated[str, Text(16, min_length=1)]
    account_last4: Annotated[str, Text(8, min_length=1)]


class VerifyOut(BaseModel):
    genuine: bool
    message: str
    """The answer to show, in Russian."""
    sent_on: dt.date | None = None
    amount_minor: int | None = None
    due_date: dt.date | None = None


class ReportIn(BaseModel):
    sender: Annotated[str, Text(32, min_length=1)]
    text: Annotated[str, Text(1000, min_length=1, multiline=True)]


class ReportOut(BaseModel):
    id: int
    message: str


class CountOut(BaseModel):
    value: str
    count: int


class ReportLine(BaseModel):
    id: int
    sender: str
    text: str
    channel: str
    reported_at: dt.datetime


class ReportsOut(BaseModel):
    total: int
    by_sender: list[CountOut]
    by_text: list[CountOut]
    recent: list[ReportLine]
