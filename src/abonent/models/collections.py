"""Collection agencies, the debt handed over to them, and write-off requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime


class CollectionAgency(Base):
    """A collection agency (коллекторское агентство), data rather than code."""

    __tablename__ = "collection_agencies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    inn: Mapped[str] = mapped_column(String(12), unique=True)
    contacts: Mapped[str] = mapped_column(String(500), default="")
    export_format: Mapped[str] = mapped_column(String(8), default="csv")
    """'csv' or 'xlsx'."""
    commission_bp: Mapped[int] = mapped_column(default=0)
    """Commission on what it collects, basis points (1 500 = 15 %)."""
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("payment_agents.id"), unique=True)
    """The payment agent (kind 'collection') whose registry brings what the agency collected."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CollectionAssignment(Base):
    """An account's debt handed over to an agency: which items and how much at hand-over."""

    __tablename__ = "collection_assignments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("collection_agencies.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks still owed on the items at hand-over."""
    status: Mapped[str] = mapped_column(String(16), default="active")
    """'active' or 'recalled'."""
    handed_over_on: Mapped[dt.date]
    recalled_on: Mapped[dt.date | None]
    notice_due_on: Mapped[dt.date]
    """230-FZ art. 9: the debtor is told within 30 working days of the hand-over."""
    notice_status: Mapped[str] = mapped_column(String(16), default="queued")
    """'queued', 'sent', 'delivered', 'failed'."""
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AssignmentItem(Base):
    """One open item in an assignment. ``active`` is set while the assignment is: an item is in
    at most one active assignment (a partial unique index)."""

    __tablename__ = "collection_assignment_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("collection_assignments.id"), index=True)
    open_item_id: Mapped[int] = mapped_column(ForeignKey("open_items.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """What remained on the item at hand-over."""
    active: Mapped[bool] = mapped_column(default=True)


Index(
    "uq_collection_item_active",
    AssignmentItem.open_item_id,
    unique=True,
    postgresql_where=text("active"),
    sqlite_where=text("active"),
)


class WriteOffRequest(Base):
    """A request by collections (or the dunning ladder) to write an account's debt off; a
    supervisor approves or rejects it. Who rejected, when and why is in the audit trail
    (``write_off.reject``): the table has no columns for it."""

    __tablename__ = "write_off_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """The debt the request covers, at request time."""
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    """'requested' (pending a decision), 'approved', 'rejected'."""
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(128))
    """Set by an approval only; a rejected request keeps None here."""
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
