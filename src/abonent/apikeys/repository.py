"""Queries over API keys. No rules here, only reads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import ApiKey


async def by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


async def get(session: AsyncSession, key_id: int) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def all_by_id(session: AsyncSession) -> Sequence[ApiKey]:
    return (await session.scalars(select(ApiKey).order_by(ApiKey.id))).all()
