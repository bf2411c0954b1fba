"""Queries over payments and Idempotency-Key rows. No rules here: the services decide."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Account, IdempotencyKey, OpenItem, Payment, Service
from abonent.models.ledger import still_open


async def by_source(session: AsyncSession, source: str, source_txn_id: str) -> Payment | None:
    return await session.scalar(
        select(Payment).where(Payment.source == source, Payment.source_txn_id == source_txn_id)
    )


async def get(session: AsyncSession, payment_id: int) -> Payment | None:
    return await session.get(Payment, payment_id)


async def with_account_number(session: AsyncSession, payment_id: int) -> tuple[Payment, str] | None:
    row = (
        await session.execute(
            select(Payment, Account.number)
            .join(Account, Account.id == Payment.account_id)
            .where(Payment.id == payment_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def page(
    session: AsyncSession,
    *,
    before_id: int | None,
    account_id: int | None,
    status: str | None,
    method: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
) -> list[tuple[Payment, str]]:
    """Newest first, with each payment's account number; ``limit`` rows at most."""
    stmt = select(Payment, Account.number).join(Account, Account.id == Payment.account_id)
    if before_id is not None:
        stmt = stmt.where(Payment.id < before_id)
    if account_id is not None:
        stmt = stmt.where(Payment.account_id == account_id)
    if status is not None:
        stmt = stmt.where(Payment.status == status)
    if method is not None:
        stmt = stmt.where(Payment.method == method)
    if since is not None:
        stmt = stmt.where(Payment.created_at >= since)
    if until is not None:
        stmt = stmt.where(Payment.created_at < until)
    rows = await session.execute(stmt.order_by(Payment.id.desc()).limit(limit))
    return [(payment, number) for payment, number in rows]


async def services_of(session: AsyncSession, account_id: int) -> Sequence[Service]:
    """The account's services in no particular order (restoring them needs none)."""
    return (await session.scalars(select(Service).where(Service.account_id == account_id))).all()


async def open_item_past_due(
    session: AsyncSession, *, account_id: int, service_id: int, side: str, due_before: dt.date
) -> bool:
    """Is any undisputed item of this side and service still open with a due date before?"""
    found = await session.scalar(
        select(OpenItem.id)
        .where(
            OpenItem.account_id == account_id,
            OpenItem.service_id == service_id,
            OpenItem.side == side,
            still_open(),
            OpenItem.disputed.is_(False),
            OpenItem.due_date < due_before,
        )
        .limit(1)
    )
    return found is not None


# --- Idempotency-Key rows (the rules are in idempotency.py) --------------------------------------


async def forget_expired_key(session: AsyncSession, scope: str, key: str, now: dt.datetime) -> None:
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
            IdempotencyKey.expires_at <= now,
        )
    )


async def idempotency_key(session: AsyncSession, scope: str, key: str) -> IdempotencyKey | None:
    return await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    )


async def restart_stale_claim(
    session: AsyncSession, row_id: int, now: dt.datetime, stale_before: dt.datetime
) -> bool:
    """Re-date a claim still running since before ``stale_before``; False if it is not (any
    more) such a claim."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == row_id,
            IdempotencyKey.status == "running",
            IdempotencyKey.created_at <= stale_before,
        )
        .values(created_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def store_response(session: AsyncSession, row_id: int, status: int, body: str) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == row_id, IdempotencyKey.status == "running")
        .values(status="done", response_status=status, response_body=body)
        .execution_options(synchronize_session=False)
    )


async def delete_running_claim(session: AsyncSession, row_id: int) -> None:
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.id == row_id, IdempotencyKey.status == "running"
        )
    )


async def delete_expired_keys(session: AsyncSession, now: dt.datetime) -> int:
    result = await session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0
