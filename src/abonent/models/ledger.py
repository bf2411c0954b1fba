"""The append-only double-entry journal and the open items the debt is made of."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ColumnElement, ForeignKey, Index, String, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime


class JournalEntry(Base):
    """One business event. Never updated or deleted; corrected by a reversing entry."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(32))
    """An entry kind of :mod:`abonent.ledger.chart`: 'charge', 'fee', 'payment', 'reversal'."""
    memo: Mapped[str] = mapped_column(String(255), default="")
    reverses_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id"), unique=True
    )
    """Set on a reversal; unique so an entry is reversed at most once."""
    source: Mapped[str | None] = mapped_column(String(128))
    """What caused it: 'payment:17', 'charges:batch-2026-11-01', 'fee:2026-11'."""
    actor: Mapped[str] = mapped_column(String(128), default="system")
    business_date: Mapped[dt.date]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Posting(Base):
    """One leg of an entry. The legs of an entry sum to zero."""

    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    """The subscriber account the entry belongs to (every leg carries it: data shards by it)."""
    ledger: Mapped[str] = mapped_column(String(64))
    """Chart-of-accounts code (:mod:`abonent.ledger.chart`): 'subscriber', 'revenue:mobile',
    'clearing:osmp:SBER', …"""
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks, signed: debit positive, credit negative."""
    currency: Mapped[str] = mapped_column(String(3), default="RUB")


class OpenItem(Base):
    """A receivable (debit: a charge) or an unallocated credit (a payment, a reversal).

    Allocation matches debit items with credit items, oldest due first, and lowers both
    ``remaining_minor``; the debt is the sum of what remains on debit items.
    """

    __tablename__ = "open_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    """The service a charge accrued on; None for account-level items and credits."""
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    side: Mapped[str] = mapped_column(String(6))
    """'debit' (owed by the subscriber) or 'credit' (money to allocate)."""
    kind: Mapped[str] = mapped_column(String(32))
    """An item kind of :mod:`abonent.ledger.chart`: 'usage', 'one_off', 'fee', 'payment', …"""
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks, > 0: the original amount of the item."""
    remaining_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks, 0 <= remaining <= amount: what is still not allocated."""
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    period: Mapped[str | None] = mapped_column(String(7))
    """Billing period 'YYYY-MM' of a charge or fee."""
    description: Mapped[str] = mapped_column(String(255), default="")
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    """Idempotency key of an imported charge ('fee:<service>:<period>' for monthly fees)."""
    charged_on: Mapped[dt.date | None]
    due_date: Mapped[dt.date]
    disputed: Mapped[bool] = mapped_column(default=False)
    """Set aside from dunning while a claim is open; still owed."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Allocation(Base):
    """How much of a credit item cleared how much of a debit item. Append-only.

    A reversal re-opens what the reversed item had cleared by writing the same pair again with
    a negative amount, so the history of who paid what is never rewritten.
    """

    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    debit_item_id: Mapped[int] = mapped_column(ForeignKey("open_items.id"), index=True)
    credit_item_id: Mapped[int] = mapped_column(ForeignKey("open_items.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks, signed: > 0 clears, < 0 re-opens (written by a reversal)."""
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    """The entry whose posting caused this allocation."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# Only the items still open are read on every statement and every payment; this index keeps
# that read proportional to what is open, not to the history.
Index(
    "ix_open_items_open",
    OpenItem.account_id,
    OpenItem.side,
    OpenItem.due_date,
    postgresql_where=text("remaining_minor > 0"),
    sqlite_where=text("remaining_minor > 0"),
)
Index("ix_open_items_account", OpenItem.account_id, OpenItem.id)
Index("ix_journal_entries_account", JournalEntry.account_id, JournalEntry.id)
Index("ix_postings_account_ledger", Posting.account_id, Posting.ledger)


def still_open() -> ColumnElement[bool]:
    """``remaining_minor > 0`` with the zero written as a literal, not a bound parameter.

    PostgreSQL uses the partial index ``ix_open_items_open`` only when it can prove the query's
    predicate implies the index's; a prepared statement's generic plan with ``$1`` cannot, and
    a read that takes 0.1 ms on an account with a million entries then takes 100 ms.
    """
    return OpenItem.remaining_minor > literal_column("0")
