"""The contact gate's tables (blocks, the queue of debt contacts, the decision log), debt notices
with their verification code, and reports of suspicious SMS."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime

BLOCK_KINDS = ("bankruptcy", "deceased", "court_ban")
CONTACT_STATUSES = ("pending", "sent", "blocked", "cancelled")
CONTACT_VERDICTS = ("sent", "deferred", "blocked", "cancelled")


class ContactBlock(Base):
    """No debt contact at all with the customer while a block holds (from ≤ now < until)."""

    __tablename__ = "contact_blocks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """'bankruptcy' (filed), 'deceased' or 'court_ban'."""
    reason: Mapped[str] = mapped_column(String(500))
    set_by: Mapped[str] = mapped_column(String(128))
    from_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    until_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """None: until lifted by hand."""
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ContactMessage(Base):
    """One debt contact asked of the gate: sent, pending until ``not_before``, or held by a
    block. ``key`` makes asking twice a no-op (one notice per account and dunning step)."""

    __tablename__ = "contact_messages"
    __table_args__ = (Index("ix_contact_messages_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    """'debt_notice', 'collections_handover', …: what renders its text when it goes."""
    category: Mapped[str] = mapped_column(String(16), default="debt")
    channel: Mapped[str] = mapped_column(String(8), default="sms")
    to_msisdn: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(String(1000))
    """A fixed text; None when the text is rendered at sending (a debt notice's code)."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """'pending' (until ``not_before``), 'sent', 'blocked' (until the block is lifted) or
    'cancelled' (nothing left to say when it could go: the debt was paid)."""
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decisions: Mapped[int] = mapped_column(default=0)
    outbox_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ContactLogEntry(Base):
    """Every decision of the gate, append-only: the caps count the ``sent`` ones."""

    __tablename__ = "contact_log"
    __table_args__ = (Index("ix_contact_log_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("contact_messages.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str] = mapped_column(String(16))
    """'sent', 'deferred' or 'blocked'."""
    reason: Mapped[str] = mapped_column(String(64))
    """'allowed', 'cap_day', 'cap_week', 'cap_month', 'quiet_hours', or the block's kind."""
    next_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    zone: Mapped[str] = mapped_column(String(64))
    """The zone the hours were taken in; 'A|B|C' or 'West..East' when the number could be in
    any of several and the hours had to fit all of them."""
    zone_source: Mapped[str | None] = mapped_column(String(16))
    """Where the zone came from: 'account', 'customer', 'def_code' (the mobile number's range),
    'phone' (phonenumbers), 'operator'. None on decisions made before migration 0019."""
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DebtNotice(Base):
    """A debt notice: what it says, and its check code as a keyed hash (never in clear)."""

    __tablename__ = "debt_notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_message_id: Mapped[int] = mapped_column(ForeignKey("contact_messages.id"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    step: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks, > 0: the debt the notice names."""
    due_date: Mapped[dt.date]
    services: Mapped[str] = mapped_column(String(255))
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """HMAC of 'code:last 4 digits of the account'; set when the notice goes."""
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outbox_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SuspiciousSmsReport(Base):
    """A subscriber's report of an SMS they believe is not ours."""

    __tablename__ = "suspicious_sms_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sender: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(String(1000))
    channel: Mapped[str] = mapped_column(String(16))
    """'api', 'cabinet', 'hotline'."""
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class NoticeTemplateVersion(Base):
    """One saved version of a notice template; the highest version of a kind is the one in use.

    Never updated: a change is a new version, so what every notice said can be traced to the
    text approved then.  ``seal`` binds the text to the version; a row written behind the
    service's back (or edited) fails it and is refused when read (notices/templates.py).
    """

    __tablename__ = "notice_templates"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_notice_templates_kind_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    """'debt_notice'."""
    version: Mapped[int]
    """1, 2, …: one more than the kind's latest at saving."""
    text: Mapped[str] = mapped_column(String(1000))
    seal: Mapped[str] = mapped_column(String(64))
    """HMAC-SHA256 (hex) of kind, version and text under the PII hash key."""
    saved_by: Mapped[str] = mapped_column(String(128))
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
