"""Queries for staff tables; the service holds the rules."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import StaffSession, StaffUser


async def by_login(session: AsyncSession, login: str) -> StaffUser | None:
    row: StaffUser | None = await session.scalar(select(StaffUser).where(StaffUser.login == login))
    return row


async def session_by_hash(
    session: AsyncSession, token_hash: str
) -> tuple[StaffSession, StaffUser] | None:
    row = (
        await session.execute(
            select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.staff_id)
            .where(StaffSession.token_hash == token_hash)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def open_sessions(session: AsyncSession, staff_id: int) -> Sequence[StaffSession]:
    return (
        await session.scalars(
            select(StaffSession).where(
                StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None)
            )
        )
    ).all()


async def all_users(session: AsyncSession) -> Sequence[StaffUser]:
    return (await session.scalars(select(StaffUser).order_by(StaffUser.id))).all()
