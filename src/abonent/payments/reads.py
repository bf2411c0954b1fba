"""What the API and the CLI show of payments: one payment, a page of them.

Kept apart from ``service.py`` (which books and reverses) because reads change nothing and
need none of its locks.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts.service import get_account
from abonent.models import Payment
from abonent.payments import repository
from abonent.payments.errors import PaymentNotFound


async def with_account_number(session: AsyncSession, payment_id: int) -> tuple[Payment, str]:
    found = await repository.with_account_number(session, payment_id)
    if found is None:
        raise PaymentNotFound(f"no payment {payment_id}")
    return found


async def page(
    session: AsyncSession,
    *,
    before_id: int | None,
    account_number: str | None,
    status: str | None,
    method: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
) -> list[tuple[Payment, str]]:
    """Newest first, each with its account number. An unknown account is ``AccountNotFound``."""
    account_id = None
    if account_number is not None:
        account_id = (await get_account(session, account_number)).id
    return await repository.page(
        session,
        before_id=before_id,
        account_id=account_id,
        status=status,
        method=method,
        since=since,
        until=until,
        limit=limit,
    )
