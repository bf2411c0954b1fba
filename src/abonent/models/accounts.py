from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime

ACCOUNT_STATUSES = ("active", "suspended", "closed")
SERVICE_KINDS = ("mobile", "internet", "tv")
SERVICE_STATUSES = ("active", "suspended", "closed")


class Account(Base):
    """A personal account (лицевой счёт). Its number is not a phone number."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    """12 digits with a Luhn check digit (or a configured legacy pattern for imports)."""
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    """'active', 'suspended' or 'closed'. A closed account keeps its debt and can be paid."""
    status_reason: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    credit_limit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    """Kopecks, >= 0: how far below zero the balance may go before services stop."""
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str | None] = mapped_column(String(64))
    """IANA zone where the subscriber of this account lives, set by staff; None: not known (the
    contact gate then takes the holder's, else the phone number's region, else the operator's)."""


class AccountBalance(Base):
    """The running balance, updated with every posting in the same transaction, under lock.

    Reading it is one primary-key lookup however long the history.
    """

    __tablename__ = "account_balances"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    """Kopecks from the subscriber's side: positive = prepaid money, negative = owed."""
    debt_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    """Kopecks, >= 0: what remains on open debit items (kept with the allocations)."""
    entries_count: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Tariff(Base):
    __tablename__ = "tariffs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    service_kind: Mapped[str] = mapped_column(String(16))
    monthly_fee_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks per calendar month, >= 0."""
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    active: Mapped[bool] = mapped_column(default=True)


class Service(Base):
    """One service on an account: a SIM (mobile), a home internet line, or a pay-TV card."""

    __tablename__ = "services"
    __table_args__ = (
        UniqueConstraint("smart_card", "chip_id", name="uq_services_smart_card_chip"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """'mobile', 'internet' or 'tv'."""
    label: Mapped[str] = mapped_column(String(255))
    """How a person recognises it: '+7 916 123-45-67', 'Интернет: ivanov_home', 'ТВ: 7500…'."""
    msisdn: Mapped[str | None] = mapped_column(String(16), unique=True)
    """Mobile only: E.164."""
    login: Mapped[str | None] = mapped_column(String(64), unique=True)
    """Internet only."""
    smart_card: Mapped[str | None] = mapped_column(String(32), index=True)
    """TV only: smart-card number."""
    chip_id: Mapped[str | None] = mapped_column(String(32))
    """TV only: the receiver/CAM chip ID."""
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    suspended_reason: Mapped[str | None] = mapped_column(String(32))
    """'debt' when suspended for overdue debt (restored by payment), else staff's reason."""
    activated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ServiceStatusChange(Base):
    """Append-only history of service suspensions and restorations."""

    __tablename__ = "service_status_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    signed_on: Mapped[dt.date]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


Index("ix_accounts_status", Account.status)
Index("ix_account_balances_debt", AccountBalance.debt_minor)
