"""Written requests (письменные заявки) from subscribers, answered by staff."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime

REQUEST_STATUSES = ("open", "answered")


class WrittenRequest(Base):
    __tablename__ = "written_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(32))
    """A type of ``Settings.requests.types`` ('debt_details', …): it sets the due date."""
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    channel: Mapped[str] = mapped_column(String(16))
    filed_by: Mapped[str] = mapped_column(String(128))
    received_on: Mapped[dt.date]
    due_on: Mapped[dt.date]
    assignee: Mapped[str | None] = mapped_column(String(128))
    answer_text: Mapped[str | None] = mapped_column(Text)
    answer_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The statement attached to the answer (small: a few kilobytes)."""
    answered_by: Mapped[str | None] = mapped_column(String(128))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


Index("ix_written_requests_queue", WrittenRequest.status, WrittenRequest.due_on)
Index("ix_written_requests_account", WrittenRequest.account_id, WrittenRequest.id)
