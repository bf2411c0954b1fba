"""Operational tables: the transactional outbox, the audit trail, API keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime

ROLES = ("admin", "supervisor", "clerk", "hotline", "collections", "integration")


class OutboxMessage(Base):
    """A side effect (SMS, event, webhook) written in the same transaction as its cause."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    """'sms.send', 'service.restored', 'payment.booked', …"""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    """Stops the same notice being queued twice by a rerun job."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """'pending', 'done', 'dead' (gave up after max attempts)."""
    attempts: Mapped[int] = mapped_column(default=0)
    """Claims so far: a relay counts the attempt when it claims, before it sends."""
    available_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """The lease of the relay sending it now; once past, the send is presumed lost (the relay
    died between send and record) and another relay may claim it again."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxAttempt(Base):
    __tablename__ = "outbox_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Append-only: every staff action and every money movement, with who, when and why."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    """'apikey:3:ops-console', 'agent:SBER', 'cli:root', 'system'."""
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    reason: Mapped[str | None] = mapped_column(String(512))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiKey(Base):
    """Staff and integration access. Only a SHA-256 of the (high-entropy) key is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    prefix: Mapped[str] = mapped_column(String(16))
    """First characters of the key, shown in listings so people can tell keys apart."""
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


Index("ix_outbox_pending", OutboxMessage.status, OutboxMessage.available_at)
Index("ix_audit_events_account", AuditEvent.account_id, AuditEvent.id)
