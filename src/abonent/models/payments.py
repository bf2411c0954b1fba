"""Payments from every source, the agents that send them, and what makes them idempotent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime

PAYMENT_STATUSES = ("pending", "succeeded", "failed", "unknown", "reversed")


class PaymentAgent(Base):
    """A bank or terminal network paying by account number over the OSMP protocol."""

    __tablename__ = "payment_agents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    """argon2."""
    allowed_ips: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Addresses or CIDR networks the agent may call from."""
    min_sum_minor: Mapped[int] = mapped_column(BigInteger, default=100)
    """Kopecks: smallest payment accepted (result 241 below it)."""
    max_sum_minor: Mapped[int] = mapped_column(BigInteger, default=1_500_000)
    """Kopecks: largest payment accepted (result 242 above it)."""
    disclosure: Mapped[str] = mapped_column(String(16), default="none")
    """What `check` reveals about the holder: 'none' or 'masked' (masked name and debt)."""
    active: Mapped[bool] = mapped_column(default=True)
    kind: Mapped[str] = mapped_column(String(16), default="payment", server_default="payment")
    """'payment' (a bank or terminal network) or 'collection' (a collection agency's registry of
    what it collected: see collection_agencies.agent_id)."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Payment(Base):
    """Money received for an account, from any source. Idempotent on (source, source_txn_id)."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("source", "source_txn_id", name="uq_payments_source_txn"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks, > 0."""
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    method: Mapped[str] = mapped_column(String(16))
    """'agent', 'api', 'card', 'registry', 'office', 'transfer'."""
    source: Mapped[str] = mapped_column(String(64))
    """Namespace of source_txn_id: 'osmp:SBER', 'api:<key id>', 'card:sandbox', …"""
    source_txn_id: Mapped[str] = mapped_column(String(128))
    """The source's own transaction id (OSMP txn_id, external_id, provider reference)."""
    fingerprint: Mapped[str] = mapped_column(String(64))
    """sha256 of what identifies the request (account, amount, currency): a replay must match."""
    status: Mapped[str] = mapped_column(String(16))
    """'pending', 'succeeded', 'failed', 'unknown', 'reversed'."""
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("payment_agents.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    """The journal entry that booked it (None until booked)."""
    reversal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    reversal_reason: Mapped[str | None] = mapped_column(String(255))
    txn_date: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """When the payer paid, as the source reports it (OSMP txn_date)."""
    comment: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(128), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    booked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """A stored Idempotency-Key and the response it produced (kept at least 24 hours)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    """Who sent it (API key id): two clients may pick the same key."""
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    """sha256 of method, path and body."""
    status: Mapped[str] = mapped_column(String(16))
    """'running' or 'done'."""
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class CardPayment(Base):
    """A card payment started in the cabinet and carried out by an acquiring provider."""

    __tablename__ = "card_payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref", name="uq_card_payments_provider_ref"),
        # Settlement looks for pending and unknown payments by age.
        Index("ix_card_payments_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks, > 0."""
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    """'pending', 'succeeded', 'failed', 'unknown'."""
    return_url: Mapped[str] = mapped_column(String(1024))
    """Where the payer goes after the result page ('' for none)."""
    redirect_url: Mapped[str | None] = mapped_column(String(1024))
    """The provider's payment page (None until the provider has answered)."""
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class WebhookEvent(Base):
    """Every accepted provider webhook, by its event id: a replay finds it here."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_webhook_events_event"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SandboxAcquiringPayment(Base):
    """The sandbox provider's own side: what a real provider would keep on its servers."""

    __tablename__ = "sandbox_acquiring_payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    """'created', 'succeeded', 'declined', 'processing' (the payer chose a timeout), 'expired'."""
    notify_url: Mapped[str] = mapped_column(String(1024))
    return_url: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AgentRegistryFormat(Base):
    """How an agent's daily registry is laid out, saved once so the daily import needs no
    options (``abonent registry format``). Its own table: the OSMP hot path loads the agent row
    on every call and has no use for this."""

    __tablename__ = "agent_registry_formats"

    agent_id: Mapped[int] = mapped_column(ForeignKey("payment_agents.id"), primary_key=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The parser's options (payments/registry/parser.py ``Options``) as a JSON object."""
    actor: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RegistryImport(Base):
    """One agent daily registry read and reconciled against booked payments."""

    __tablename__ = "registry_imports"
    # Not unique: every run is kept (a dry run, then a --book-missing run of the same file, or a
    # re-run after late OSMP retries arrived); the index finds earlier runs of the same file.
    __table_args__ = (Index("ix_registry_imports_agent_file", "agent_id", "file_sha256"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("payment_agents.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    registry_date: Mapped[dt.date | None]
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Counts and sums per outcome: matched, missing_here, unknown_to_agent, mismatch, booked."""
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RegistryLine(Base):
    """One line of a registry and what reconciliation concluded about it."""

    __tablename__ = "registry_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    registry_id: Mapped[int] = mapped_column(ForeignKey("registry_imports.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    """'matched', 'missing_here', 'unknown_to_agent', 'amount_mismatch', 'account_mismatch',
    'status_mismatch', 'booked' (see payments/registry/service.py)."""
    line_no: Mapped[int | None]
    """Line in the agent's file (1-based, the header counts); None for unknown_to_agent."""
    txn_id: Mapped[str] = mapped_column(String(128))
    txn_date: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """When the payer paid: the agent's date, or ours for a line unknown to the agent."""
    account_number: Mapped[str | None] = mapped_column(String(32))
    """The account as the agent's registry gives it."""
    our_account_number: Mapped[str | None] = mapped_column(String(32))
    """The account of the payment booked here under this txn_id."""
    agent_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    """Kopecks, > 0, as the agent reports it."""
    our_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    """Kopecks, > 0, as booked here."""
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    note: Mapped[str | None] = mapped_column(String(255))
    """Why a line differs or could not be booked."""


Index("ix_payments_created", Payment.created_at)
Index("ix_payments_agent_created", Payment.agent_id, Payment.created_at)
