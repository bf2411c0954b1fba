"""Outgoing SMS and what the network said about each of their parts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime

SMS_STATUSES = ("queued", "sent", "delivered", "undeliverable", "expired", "failed")
SMS_CATEGORIES = ("service", "debt")


class SmsMessage(Base):
    """One SMS handed to the gateway for an outbox message. The text is not kept here: it may
    carry a one-time code; the outbox payload is the only copy."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_message_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    """The outbox message this SMS relays (the gateway's idempotency key). No foreign key: the
    relay holds the outbox row FOR UPDATE while it sends, which a key check would wait on, and
    the outbox may be pruned while the SMS history stays."""
    to_msisdn: Mapped[str] = mapped_column(String(16))
    """E.164 without '+'; shown masked."""
    category: Mapped[str] = mapped_column(String(16))
    """'service' (confirmations, codes, details asked for) or 'debt' (notices)."""
    status: Mapped[str] = mapped_column(String(16))
    """'queued' → 'sent' → 'delivered' / 'undeliverable' / 'expired'; or 'failed'."""
    reason: Mapped[str | None] = mapped_column(String(255))
    """Why it failed or was not delivered."""
    parts: Mapped[int] = mapped_column(default=1)
    """How many short messages the text took (concatenated with a UDH when more than one)."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """When it reached a final status."""


class SmsPart(Base):
    """One submitted part: its message id at the SMSC and the state its receipt gave."""

    __tablename__ = "sms_parts"
    __table_args__ = (UniqueConstraint("sms_id", "seq", name="uq_sms_parts_sms_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sms_id: Mapped[int] = mapped_column(ForeignKey("sms_messages.id"))
    seq: Mapped[int]
    """1-based part number."""
    gateway_message_id: Mapped[str] = mapped_column(String(65), unique=True)
    state: Mapped[str | None] = mapped_column(String(16))
    """Last receipt: 'delivered', 'undeliverable', 'expired', 'rejected', 'accepted', 'unknown'."""
    receipt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


Index("ix_sms_messages_status", SmsMessage.status, SmsMessage.id)
