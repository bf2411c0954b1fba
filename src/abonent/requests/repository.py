"""Queries of written requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import WrittenRequest


async def get(session: AsyncSession, request_id: int) -> WrittenRequest | None:
    return await session.get(WrittenRequest, request_id)


async def queue(
    session: AsyncSession,
    *,
    status: str | None = None,
    kind: str | None = None,
    assignee: str | None = None,
    overdue_on: dt.date | None = None,
    due_by: dt.date | None = None,
    limit: int = 100,
) -> list[WrittenRequest]:
    query = select(WrittenRequest)
    if status is not None:
        query = query.where(WrittenRequest.status == status)
    if kind is not None:
        query = query.where(WrittenRequest.kind == kind)
    if assignee is not None:
        query = query.where(WrittenRequest.assignee == assignee)
    if overdue_on is not None:
        query = query.where(WrittenRequest.status == "open", WrittenRequest.due_on < overdue_on)
    if due_by is not None:
        query = query.where(WrittenRequest.due_on <= due_by)
    query = query.order_by(WrittenRequest.due_on, WrittenRequest.id).limit(limit)
    return list((await session.scalars(query)).all())


async def of_accounts(session: AsyncSession, account_ids: list[int]) -> list[WrittenRequest]:
    """The requests of these accounts, newest first."""
    if not account_ids:
        return []
    query = (
        select(WrittenRequest)
        .where(WrittenRequest.account_id.in_(account_ids))
        .order_by(WrittenRequest.id.desc())
    )
    return list((await session.scalars(query)).all())
