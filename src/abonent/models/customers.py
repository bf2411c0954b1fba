from __future__ import annotations

import datetime as dt

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime


class Customer(Base):
    """A person or a company holding one or more accounts."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """'person' or 'company'."""
    full_name: Mapped[str] = mapped_column(String(255))
    """Person: surname, name, patronymic. Company: registered name."""
    inn: Mapped[str | None] = mapped_column(String(12), index=True)
    """Company taxpayer number; not personal data."""
    passport_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    """Passport series+number, AES-GCM encrypted; never stored in clear."""
    passport_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    """Keyed HMAC of the normalised passport, for lookup without decryption."""
    passport_masked: Mapped[str | None] = mapped_column(String(16))
    """What staff without a reveal see: '45** ***456'."""
    birth_date: Mapped[dt.date | None]
    contact_phone: Mapped[str | None] = mapped_column(String(16))
    """E.164, for notices."""
    email: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str | None] = mapped_column(String(64))
    """IANA zone the holder lives in, set by staff for all of their accounts; None: not known.
    Never filled in with the operator's zone: an unknown zone stays unknown (contact/rules.py)."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
