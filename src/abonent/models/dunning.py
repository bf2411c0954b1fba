"""The dunning ladder as data (versioned) and the steps each open item has been through."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from abonent.models.base import Base, BigId, UTCDateTime

DUNNING_ACTIONS = (
    "remind",
    "notice_1",
    "notice_2",
    "suspend_service",
    "hand_over",
    "court_package",
    "write_off",
)


class DunningLadder(Base):
    """One version of the ladder. Never changed once loaded: loading a file makes a new one."""

    __tablename__ = "dunning_ladders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    """The version number: the newest is the one new items start on."""
    name: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(255))
    """Where it came from: 'migration 0013 (default)', or the file name that was loaded."""
    actor: Mapped[str] = mapped_column(String(128))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DunningStep(Base):
    """A step of a ladder version: an action on day ``offset_days`` after an item's due date.

    A row with ``service_kind`` None holds for every kind; a row for a kind overrides it for
    items of that kind; a step whose rows all name kinds applies only to those kinds.
    """

    __tablename__ = "dunning_steps"
    __table_args__ = (UniqueConstraint("ladder_id", "name", "service_kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ladder_id: Mapped[int] = mapped_column(ForeignKey("dunning_ladders.id"))
    name: Mapped[str] = mapped_column(String(32))
    """The step's name within its ladder ('notice_1', 'suspend'): the progress key."""
    action: Mapped[str] = mapped_column(String(32))
    """One of :data:`DUNNING_ACTIONS`."""
    offset_days: Mapped[int]
    """Days after the due date (negative: before it, for a reminder)."""
    service_kind: Mapped[str | None] = mapped_column(String(16))
    """'mobile', 'internet', 'tv', or None for every kind (and account-level items)."""
    agency_inn: Mapped[str | None] = mapped_column(String(12))
    """hand_over only: the agency's INN; None means the agency with the lowest id."""


class DunningItem(Base):
    """An open item on the ladder: the version it started on, kept whatever is loaded later."""

    __tablename__ = "dunning_items"

    open_item_id: Mapped[int] = mapped_column(ForeignKey("open_items.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId)
    """The open item's account (copied, so a range of accounts is read by an index; the open
    item's own foreign key holds it to an account)."""
    ladder_id: Mapped[int] = mapped_column(ForeignKey("dunning_ladders.id"))
    started_on: Mapped[dt.date]
    """The run date on which its first step fell due."""


class DunningProgress(Base):
    """A step done for an item: at most one row per (item, step), whatever the number of runs."""

    __tablename__ = "dunning_progress"
    __table_args__ = (UniqueConstraint("open_item_id", "step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    open_item_id: Mapped[int] = mapped_column(ForeignKey("open_items.id"))
    account_id: Mapped[int] = mapped_column(BigId)
    """The open item's account, copied (see :class:`DunningItem`). No foreign keys but the open
    item's: a night's run writes hundreds of thousands of these rows, and each key costs a
    look-up per row; ``ladder_id`` is the item's ``dunning_items.ladder_id``."""
    ladder_id: Mapped[int] = mapped_column(BigId)
    step: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    """'notified', 'superseded' (a later notice was due in the same run), 'suspended',
    'already_suspended', 'no_service', 'handed_over', 'already_handed_over', 'court_ready',
    'write_off_proposed'."""
    run_date: Mapped[dt.date]
    """The business date of the run that did it."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


Index("ix_dunning_progress_account", DunningProgress.account_id)
Index("ix_dunning_items_account", DunningItem.account_id)
