"""Request and response bodies of the staff and integration JSON API (v1).

Money is an integer of kopecks next to a currency code, always. Money fields in requests are
*strict* integers: ``100.5``, ``100.0``, ``"100"`` and ``true`` are refused, never rounded or
coerced. Request bodies refuse unknown fields, so a misspelt ``credit_limit`` is an error rather
than a silently ignored zero.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from abonent.kit.inputs import HistoricDate, Int64Id, Minor, Name, Reason, Text
from abonent.models import Account, AccountBalance, Contract, Customer, OpenItem, Posting, Service
from abonent.models import JournalEntry as JournalEntryModel


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (IANA name, e.g. Europe/Moscow)") from exc
    return value


TimeZone = Annotated[str, Text(64), AfterValidator(_timezone)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), Text(255)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Passport = Annotated[str, Field(description="series and number"), Text(32, min_length=1)]
Inn = Annotated[str, Text(12, min_length=1)]
Phone = Annotated[str, Text(32)]
Code = Annotated[str, Text(64)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- customers --------------------------------------------------------------------------------


class PersonCreate(_In):
    kind: Literal["person"]
    full_name: Name
    passport: Passport
    inn: Annotated[str, Text(12)] | None = None
    birth_date: HistoricDate | None = None
    contact_phone: Phone | None = None
    email: Email | None = None
    timezone: TimeZone | None = None


class CompanyCreate(_In):
    kind: Literal["company"]
    full_name: Name
    inn: Inn = Field(description="10 digits (12 for a sole trader)")
    contact_phone: Phone | None = None
    email: Email | None = None
    timezone: TimeZone | None = None


CustomerCreate = PersonCreate | CompanyCreate


class IdentifyRequest(_In):
    passport: Passport
    reason: Annotated[str, Text(255)] | None = Field(
        default=None, description="why, e.g. 'visit to office 12'"
    )


class RevealRequest(_In):
    reason: Reason


class CustomerOut(BaseModel):
    id: int
    kind: str
    full_name: str
    inn: str | None
    passport_masked: str | None = Field(description="never the full passport")
    birth_date: dt.date | None
    contact_phone: str | None
    email: str | None
    timezone: str | None = Field(description="IANA zone set by staff; null: not known")
    created_at: dt.datetime

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls(
            id=c.id,
            kind=c.kind,
            full_name=c.full_name,
            inn=c.inn,
            passport_masked=c.passport_masked,
            birth_date=c.birth_date,
            contact_phone=c.contact_phone,
            email=c.email,
            timezone=c.timezone,
            created_at=c.created_at,
        )


class CustomerList(BaseModel):
    items: list[CustomerOut]


class PassportRevealed(BaseModel):
    customer_id: int
    passport: str | None


# --- accounts ---------------------------------------------------------------------------------


class AccountOpen(_In):
    customer_id: Int64Id
    credit_limit_minor: Minor = 0
    currency: Currency | None = None
    number: Annotated[str, Text(32)] | None = Field(
        default=None, description="only when importing an existing number"
    )
    timezone: TimeZone | None = Field(
        default=None, description="where the subscriber lives (IANA), if known"
    )


class CreditLimitChange(_In):
    credit_limit_minor: Minor
    currency: Currency | None = Field(
        default=None, description="if given, must be the account's currency"
    )


class AccountStatusChange(_In):
    status: Literal["active", "suspended"] = Field(
        description="suspend or reactivate; closing is POST …/close"
    )
    reason: Reason


class AccountClose(_In):
    reason: Reason


class AccountSummary(BaseModel):
    number: str
    customer_id: int
    status: str
    status_reason: str | None
    currency: str
    credit_limit_minor: int
    balance_minor: int = Field(description="positive: prepaid money; negative: owed")
    debt_minor: int = Field(description="what remains on open charges")
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    timezone: str | None = Field(
        default=None, description="the subscriber's IANA zone set by staff; null: not known"
    )

    @classmethod
    def of(cls, a: Account, b: AccountBalance | None) -> AccountSummary:
        return cls(
            number=a.number,
            customer_id=a.customer_id,
            status=a.status,
            status_reason=a.status_reason,
            currency=a.currency,
            credit_limit_minor=a.credit_limit_minor,
            balance_minor=b.balance_minor if b else 0,
            debt_minor=b.debt_minor if b else 0,
            opened_at=a.opened_at,
            closed_at=a.closed_at,
            timezone=a.timezone,
        )


class AccountPage(BaseModel):
    items: list[AccountSummary]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: done")


class AccountList(BaseModel):
    items: list[AccountSummary]


# --- services and contracts -------------------------------------------------------------------


class _ServiceAdd(_In):
    tariff_code: Code | None = None
    label: Name | None = None


class MobileServiceAdd(_ServiceAdd):
    kind: Literal["mobile"]
    msisdn: Annotated[str, Text(32, min_length=1)]


class InternetServiceAdd(_ServiceAdd):
    kind: Literal["internet"]
    login: Annotated[str, Text(64, min_length=1)]


class TvServiceAdd(_ServiceAdd):
    kind: Literal["tv"]
    smart_card: Annotated[str, Text(32, min_length=1)]
    chip_id: Annotated[str, Text(32, min_length=1)]


ServiceAdd = MobileServiceAdd | InternetServiceAdd | TvServiceAdd


class ServiceStatusChange(_In):
    status: Literal["active", "suspended", "closed"]
    reason: Reason


class ServiceOut(BaseModel):
    id: int
    kind: str
    label: str
    msisdn: str | None
    login: str | None
    smart_card: str | None
    chip_id: str | None
    tariff_code: str | None
    status: str
    suspended_reason: str | None
    activated_at: dt.datetime
    closed_at: dt.datetime | None

    @classmethod
    def of(cls, s: Service, tariff_code: str | None) -> ServiceOut:
        return cls(
            id=s.id,
            kind=s.kind,
            label=s.label,
            msisdn=s.msisdn,
            login=s.login,
            smart_card=s.smart_card,
            chip_id=s.chip_id,
            tariff_code=tariff_code,
            status=s.status,
            suspended_reason=s.suspended_reason,
            activated_at=s.activated_at,
            closed_at=s.closed_at,
        )


class ContractAdd(_In):
    number: Annotated[str, Text(64, min_length=1)]
    signed_on: HistoricDate


class ContractOut(BaseModel):
    number: str
    signed_on: dt.date
    created_at: dt.datetime

    @classmethod
    def of(cls, c: Contract) -> ContractOut:
        return cls(number=c.number, signed_on=c.signed_on, created_at=c.created_at)


class AccountDetail(AccountSummary):
    services: list[ServiceOut]
    contracts: list[ContractOut]


# --- ledger history ---------------------------------------------------------------------------


class PostingOut(BaseModel):
    ledger: str
    amount_minor: int = Field(description="signed: debit positive, credit negative")
    currency: str

    @classmethod
    def of(cls, p: Posting) -> PostingOut:
        return cls(ledger=p.ledger, amount_minor=p.amount_minor, currency=p.currency)


class EntryOut(BaseModel):
    id: int
    kind: str
    memo: str
    source: str | None
    actor: str
    business_date: dt.date
    created_at: dt.datetime
    reverses_entry_id: int | None
    postings: list[PostingOut]

    @classmethod
    def of(cls, e: JournalEntryModel, postings: list[PostingOut]) -> EntryOut:
        return cls(
            id=e.id,
            kind=e.kind,
            memo=e.memo,
            source=e.source,
            actor=e.actor,
            business_date=e.business_date,
            created_at=e.created_at,
            reverses_entry_id=e.reverses_entry_id,
            postings=postings,
        )


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None


class OpenItemOut(BaseModel):
    id: int
    side: str = Field(description="'debit' (owed) or 'credit' (money to allocate)")
    kind: str
    service_id: int | None
    amount_minor: int
    remaining_minor: int
    currency: str
    period: str | None
    description: str
    charged_on: dt.date | None
    due_date: dt.date
    disputed: bool
    created_at: dt.datetime
    cleared_at: dt.datetime | None

    @classmethod
    def of(cls, i: OpenItem) -> OpenItemOut:
        return cls(
            id=i.id,
            side=i.side,
            kind=i.kind,
            service_id=i.service_id,
            amount_minor=i.amount_minor,
            remaining_minor=i.remaining_minor,
            currency=i.currency,
            period=i.period,
            description=i.description,
            charged_on=i.charged_on,
            due_date=i.due_date,
            disputed=i.disputed,
            created_at=i.created_at,
            cleared_at=i.cleared_at,
        )


class OpenItemPage(BaseModel):
    items: list[OpenItemOut]
    next_cursor: str | None


# --- lookup -----------------------------------------------------------------------------------


class NumberOut(BaseModel):
    number: str


class LookupResult(BaseModel):
    items: list[NumberOut]
