"""Queries of disputes. No rules here, only reads (and its own rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Dispute, DisputeEvidence, DisputeItem, JournalEntry, OpenItem
from abonent.models.disputes import OPEN_STATUSES


async def disputed_open_item_ids(
    session: AsyncSession, account_ids: Sequence[int] | None = None
) -> set[int]:
    """Open items under a dispute not yet resolved: still owed, but left out of dunning and of
    overdue for notices. ``account_ids`` None means every account."""
    query = (
        select(DisputeItem.open_item_id)
        .join(Dispute, Dispute.id == DisputeItem.dispute_id)
        .where(Dispute.status.in_(OPEN_STATUSES))
    )
    if account_ids is not None:
        if not account_ids:
            return set()
        query = query.where(Dispute.account_id.in_(list(account_ids)))
    return set((await session.scalars(query)).all())


async def disputed_open_item_ids_between(session: AsyncSession, lo: int, hi: int) -> set[int]:
    """:func:`disputed_open_item_ids` of the accounts ``lo <= id < hi`` (a nightly job's
    range: read over ``ix_disputes_account`` with no list of ids)."""
    query = (
        select(DisputeItem.open_item_id)
        .join(Dispute, Dispute.id == DisputeItem.dispute_id)
        .where(Dispute.status.in_(OPEN_STATUSES), Dispute.account_id >= lo, Dispute.account_id < hi)
    )
    return set((await session.scalars(query)).all())


async def get(
    session: AsyncSession, dispute_id: int, *, for_update: bool = False
) -> Dispute | None:
    query = select(Dispute).where(Dispute.id == dispute_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def items_of(session: AsyncSession, dispute_id: int) -> list[DisputeItem]:
    query = select(DisputeItem).where(DisputeItem.dispute_id == dispute_id).order_by(DisputeItem.id)
    return list((await session.scalars(query)).all())


async def open_items(session: AsyncSession, item_ids: Sequence[int]) -> list[OpenItem]:
    query = select(OpenItem).where(OpenItem.id.in_(list(item_ids))).order_by(OpenItem.id)
    return list((await session.scalars(query)).all())


async def evidence_of(session: AsyncSession, dispute_id: int) -> list[DisputeEvidence]:
    query = (
        select(DisputeEvidence)
        .where(DisputeEvidence.dispute_id == dispute_id)
        .order_by(DisputeEvidence.id)
    )
    return list((await session.scalars(query)).all())


async def evidence(session: AsyncSession, evidence_id: int) -> DisputeEvidence | None:
    return await session.get(DisputeEvidence, evidence_id)


async def listing(
    session: AsyncSession,
    *,
    status: str | None = None,
    account_id: int | None = None,
    due_by: dt.date | None = None,
    limit: int = 100,
) -> list[Dispute]:
    query = select(Dispute)
    if status is not None:
        query = query.where(Dispute.status == status)
    if account_id is not None:
        query = query.where(Dispute.account_id == account_id)
    if due_by is not None:
        query = query.where(Dispute.status.in_(OPEN_STATUSES), Dispute.answer_due_on <= due_by)
    query = query.order_by(Dispute.answer_due_on, Dispute.id).limit(limit)
    return list((await session.scalars(query)).all())


async def open_near(session: AsyncSession, *, due_by: dt.date, today: dt.date) -> list[Dispute]:
    """Open claims answered by ``due_by`` at the latest, or not registered yet on ``today``."""
    query = (
        select(Dispute)
        .where(
            Dispute.status.in_(OPEN_STATUSES),
            or_(Dispute.answer_due_on <= due_by, Dispute.registered_on > today),
        )
        .order_by(Dispute.answer_due_on, Dispute.id)
    )
    return list((await session.scalars(query)).all())


async def of_accounts(session: AsyncSession, account_ids: Sequence[int]) -> list[Dispute]:
    """The claims of these accounts, newest first."""
    if not account_ids:
        return []
    query = (
        select(Dispute).where(Dispute.account_id.in_(list(account_ids))).order_by(Dispute.id.desc())
    )
    return list((await session.scalars(query)).all())


async def charges_of(session: AsyncSession, account_id: int, limit: int = 200) -> list[OpenItem]:
    """The account's charges (debit items), newest first."""
    query = (
        select(OpenItem)
        .where(OpenItem.account_id == account_id, OpenItem.side == "debit")
        .order_by(OpenItem.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def items_already_disputed(session: AsyncSession, item_ids: Sequence[int]) -> set[int]:
    ids = await disputed_open_item_ids(session)
    return ids & set(item_ids)


async def billing_date(session: AsyncSession, item: OpenItem) -> dt.date:
    """The charge's billing date: its own charge date, else its entry's business date."""
    if item.charged_on is not None:
        return item.charged_on
    day = await session.scalar(
        select(JournalEntry.business_date).where(JournalEntry.id == item.entry_id)
    )
    assert day is not None
    return day
