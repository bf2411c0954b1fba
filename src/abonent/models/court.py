"""Court cases for a debt: the package built for a court order, and the stages recorded by hand."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime


class CourtCase(Base):
    """One application for a court order (судебный приказ) on an account's debt.

    The figures are a snapshot taken when the package was built: the application is a document
    sent to a court, so it must read the same when printed again, whatever was paid since.
    """

    __tablename__ = "court_cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16), default="prepared")
    """'prepared', 'filed', 'order_issued', 'cancelled', 'enforced', 'refused', 'withdrawn'."""
    as_of: Mapped[dt.date]
    """The application date the claim is calculated on."""
    claim_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    time_barred_minor: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CourtCaseLine(Base):
    """One charge in a case's calculation, as it stood when the package was built."""

    __tablename__ = "court_case_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("court_cases.id"), index=True)
    open_item_id: Mapped[int] = mapped_column(ForeignKey("open_items.id"))
    period: Mapped[str | None] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(32))
    due_date: Mapped[dt.date]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger)
    owed_minor: Mapped[int] = mapped_column(BigInteger)
    """What was still owed on the charge (named apart from the ledger's own columns: only the
    ledger writes a `remaining_minor`)."""
    part: Mapped[str] = mapped_column(String(16))
    """'claimed'; 'time_barred' (listed apart, left out of the claim); 'disputed' (an open
    dispute: still owed, but not taken to court while it is being answered)."""


class CourtStageEvent(Base):
    """A stage of a case recorded by hand: who recorded which stage, on which day, and why."""

    __tablename__ = "court_stage_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("court_cases.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    on: Mapped[dt.date]
    note: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
