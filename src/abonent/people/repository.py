"""Queries of the person view: customers by surname, access grants, the person's audit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Account, AuditEvent, Customer, PersonAccess


async def by_surname_and_birth(
    session: AsyncSession, surname: str, birth_date: dt.date
) -> Sequence[Customer]:
    # Birth date is indexed nowhere but narrows to a handful; the name is compared on those.
    stmt = (
        select(Customer)
        .where(Customer.birth_date == birth_date, Customer.kind == "person")
        .order_by(Customer.id)
    )
    wanted = surname.casefold()
    return [c for c in (await session.scalars(stmt)).all() if _surname(c) == wanted]


def _surname(customer: Customer) -> str:
    parts = customer.full_name.split()
    return parts[0].casefold() if parts else ""


async def owners_of_numbers(session: AsyncSession, numbers: Sequence[str]) -> Sequence[Customer]:
    if not numbers:
        return []
    stmt = (
        select(Customer)
        .where(Customer.id.in_(select(Account.customer_id).where(Account.number.in_(numbers))))
        .order_by(Customer.id)
    )
    return (await session.scalars(stmt)).all()


async def account_counts(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, int]:
    if not customer_ids:
        return {}
    rows = await session.execute(
        select(Account.customer_id, func.count())
        .where(Account.customer_id.in_(customer_ids))
        .group_by(Account.customer_id)
    )
    return {int(cid): int(n) for cid, n in rows.all()}


async def live_access(
    session: AsyncSession, staff_id: int, customer_id: int, now: dt.datetime
) -> PersonAccess | None:
    row: PersonAccess | None = await session.scalar(
        select(PersonAccess)
        .where(
            PersonAccess.staff_id == staff_id,
            PersonAccess.customer_id == customer_id,
            PersonAccess.expires_at > now,
        )
        .order_by(PersonAccess.expires_at.desc())
        .limit(1)
    )
    return row


async def audit_of(session: AsyncSession, customer_id: int) -> Sequence[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.object_type == "person", AuditEvent.object_id == str(customer_id))
        .order_by(AuditEvent.id)
    )
    return (await session.scalars(stmt)).all()
