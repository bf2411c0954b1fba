"""The subscriber's identity: one-time login codes, sessions (token pairs) and rate counters."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime

SESSION_KINDS = ("api", "web")


class LoginCode(Base):
    """A 6-digit code sent by SMS; only its keyed HMAC is kept."""

    __tablename__ = "subscriber_login_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SubscriberSession(Base):
    """One login: an access token and a rotating refresh token, both stored as sha256."""

    __tablename__ = "subscriber_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    msisdn: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    """'api' (mobile app) or 'web' (cabinet: idle timeout too)."""
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    previous_refresh_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    """The refresh token rotated away: presenting it again means it leaked; the session dies."""
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    """The absolute end of the session, whatever the refreshes."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    client: Mapped[str | None] = mapped_column(String(64))


class ThrottleHit(Base):
    """One counted event for a sliding-window limit, shared by every app worker."""

    __tablename__ = "throttle_hits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


Index("ix_subscriber_login_codes_msisdn", LoginCode.msisdn, LoginCode.created_at)
Index("ix_subscriber_sessions_customer", SubscriberSession.customer_id)
Index("ix_throttle_hits_key_at", ThrottleHit.key, ThrottleHit.at)
