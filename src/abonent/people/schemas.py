from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from abonent.statement.schemas import Statement


class PersonHit(BaseModel):
    """Enough to pick the right person, nothing more (before any identity check)."""

    id: int
    name: str
    birth_year: int | None
    passport: str | None
    accounts: int


class CheckResult(BaseModel):
    result: Literal["match", "no_match"]
    access_until: dt.datetime | None = None


class ServiceView(BaseModel):
    id: int
    kind: str
    label: str
    identifier: str | None
    status: str
    suspended_reason: str | None


class AccountView(BaseModel):
    number: str
    status: str
    statement: Statement
    services: list[ServiceView]
    suspended_services: list[int]
    history: str
    open_items: str


class PersonView(BaseModel):
    id: int
    name: str
    birth_date: str | None
    passport: str | None
    contact_phone: str | None
    masked: bool
    access_until: dt.datetime
    accounts: list[AccountView]


class AuditLine(BaseModel):
    at: dt.datetime
    actor: str
    role: str | None
    action: str
    reason: str | None
    details: dict[str, object]
