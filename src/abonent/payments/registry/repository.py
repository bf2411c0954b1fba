"""Queries over registry imports and the payments a registry is reconciled against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Account, Payment, PaymentAgent, RegistryImport
from abonent.models import RegistryLine as LineRow


async def get_import(session: AsyncSession, import_id: int) -> RegistryImport | None:
    return await session.get(RegistryImport, import_id)


async def lines_of(session: AsyncSession, registry_id: int) -> Sequence[LineRow]:
    return (
        await session.scalars(
            select(LineRow).where(LineRow.registry_id == registry_id).order_by(LineRow.id)
        )
    ).all()


async def imports_page(
    session: AsyncSession, *, agent_id: int | None, limit: int
) -> list[tuple[RegistryImport, str]]:
    """Newest first, each with its agent's code."""
    query = (
        select(RegistryImport, PaymentAgent.code)
        .join(PaymentAgent, PaymentAgent.id == RegistryImport.agent_id)
        .order_by(RegistryImport.id.desc())
        .limit(limit)
    )
    if agent_id is not None:
        query = query.where(RegistryImport.agent_id == agent_id)
    return [(row, code) for row, code in await session.execute(query)]


async def earlier_imports(
    session: AsyncSession, agent_id: int, digest: str, before_id: int
) -> list[int]:
    """Ids of the earlier runs of the same file for the same agent."""
    ids = await session.scalars(
        select(RegistryImport.id)
        .where(
            RegistryImport.agent_id == agent_id,
            RegistryImport.file_sha256 == digest,
            RegistryImport.id < before_id,
        )
        .order_by(RegistryImport.id)
    )
    return list(ids)


async def payments_by_txn(
    session: AsyncSession, source: str, txn_ids: Sequence[str]
) -> list[tuple[Payment, str]]:
    """The payments of ``source`` with these txn ids, each with its account number."""
    rows = await session.execute(
        select(Payment, Account.number)
        .join(Account, Account.id == Payment.account_id)
        .where(Payment.source == source, Payment.source_txn_id.in_(txn_ids))
    )
    return [(payment, number) for payment, number in rows]


async def agent_payments_between(
    session: AsyncSession, *, agent_id: int, source: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[Payment, str]]:
    """Succeeded payments of the agent (by id, or under its source) whose payer's time —
    ``txn_date``, else when we booked it — is in ``[start, end)``, in that order."""
    when = func.coalesce(Payment.txn_date, Payment.created_at)
    rows = await session.execute(
        select(Payment, Account.number)
        .join(Account, Account.id == Payment.account_id)
        .where(
            or_(Payment.agent_id == agent_id, Payment.source == source),
            Payment.status == "succeeded",
            when >= start,
            when < end,
        )
        .order_by(when, Payment.id)
    )
    return [(payment, number) for payment, number in rows]
