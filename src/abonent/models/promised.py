"""The promised payment (обещанный платёж) and the USSD dialogues' shared session state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime

PROMISED_STATUSES = ("in_force", "repaid", "expired")


class PromisedPayment(Base):
    """A short credit taken by the subscriber. The money itself lives in the ledger: this row
    names the entries and open items it created and follows how it ends."""

    __tablename__ = "promised_payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks, > 0: the credit given."""
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    """Kopecks, >= 0: the fee charged for it (a charge on the account)."""
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_date: Mapped[dt.date]
    """The business date the repayment (and the fee) fall due: overdue from the day after."""
    status: Mapped[str] = mapped_column(String(16), default="in_force")
    """'in_force', 'repaid' (its repayment item was cleared) or 'expired' (term over first)."""
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    credit_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    """The 'promised' credit entry (allocated to the debt like a payment)."""
    repayment_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    repayment_item_id: Mapped[int | None] = mapped_column(ForeignKey("open_items.id"))
    """The debit open item for the repayment, due on ``due_date``."""
    fee_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    fee_item_id: Mapped[int | None] = mapped_column(ForeignKey("open_items.id"))
    channel: Mapped[str] = mapped_column(String(16))
    """'ussd', 'api', 'cli', 'cabinet'."""
    actor: Mapped[str] = mapped_column(String(128))


class UssdSession(Base):
    """One USSD dialogue, in the database so that every app worker sees the same state."""

    __tablename__ = "ussd_sessions"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The transport's session id (HTTP sessionId, SMPP its_session_info + source)."""
    msisdn: Mapped[str] = mapped_column(String(16))
    """E.164."""
    service_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8), default="open")
    """'open' (awaiting input) or 'ended'."""
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The engine's state between steps, and the last reply (answered again on a retry)."""
    steps: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# At most one promised payment in force per account, enforced by the database; the partial
# index also makes "the one in force" one indexed lookup for the statement.
Index(
    "uq_promised_payments_in_force",
    PromisedPayment.account_id,
    unique=True,
    postgresql_where=text("status = 'in_force'"),
    sqlite_where=text("status = 'in_force'"),
)
Index("ix_promised_payments_account", PromisedPayment.account_id, PromisedPayment.taken_at)
Index("ix_promised_payments_status", PromisedPayment.status, PromisedPayment.expires_at)
Index("ix_ussd_sessions_updated", UssdSession.updated_at)
