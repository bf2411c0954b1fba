"""Disputes (претензии) against charges: the claim, the open items it covers, its evidence."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime

DISPUTE_STATUSES = ("open", "accepted", "partially_accepted", "rejected")
OPEN_STATUSES = ("open",)


class Dispute(Base):
    """A written claim of one account against some of its charges."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default="open")
    channel: Mapped[str] = mapped_column(String(16))
    """'desk' (filed by a clerk) or 'cabinet' (by the subscriber)."""
    filed_by: Mapped[str] = mapped_column(String(128))
    received_on: Mapped[dt.date]
    registered_on: Mapped[dt.date]
    """No later than the next working day after ``received_on``."""
    answer_due_on: Mapped[dt.date]
    international: Mapped[bool] = mapped_column(default=False)
    """Some item is an international or roaming charge: the longer answer term applies."""
    assignee: Mapped[str | None] = mapped_column(String(128))
    resolution_text: Mapped[str | None] = mapped_column(Text)
    accepted_minor: Mapped[int | None] = mapped_column(BigInteger)
    credit_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DisputeItem(Base):
    """One open item under a dispute, with the amount the subscriber contests."""

    __tablename__ = "dispute_items"
    __table_args__ = (UniqueConstraint("dispute_id", "open_item_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    open_item_id: Mapped[int] = mapped_column(ForeignKey("open_items.id"), index=True)
    claimed_minor: Mapped[int] = mapped_column(BigInteger)
    accepted_minor: Mapped[int | None] = mapped_column(BigInteger)


class DisputeEvidence(Base):
    """A file kept outside the database under a random name, checked by content."""

    __tablename__ = "dispute_evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


Index("ix_disputes_status_due", Dispute.status, Dispute.answer_due_on)
Index("ix_disputes_account", Dispute.account_id, Dispute.id)
