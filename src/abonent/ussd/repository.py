"""Reads and writes of the USSD channel: its session rows, and who a phone number is."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Account, Service, UssdSession


async def session_for_update(session: AsyncSession, session_id: str) -> UssdSession | None:
    return await session.scalar(
        select(UssdSession)
        .where(UssdSession.session_id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def subscriber(session: AsyncSession, msisdn: str) -> tuple[Service, Account] | None:
    """The SIM with this number and its account (an MSISDN is unique among services)."""
    row = (
        await session.execute(
            select(Service, Account)
            .join(Account, Account.id == Service.account_id)
            .where(Service.msisdn == msisdn)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def purge_sessions(session: AsyncSession, older_than: dt.datetime) -> int:
    result = await session.execute(delete(UssdSession).where(UssdSession.updated_at < older_than))
    return int(getattr(result, "rowcount", 0) or 0)
