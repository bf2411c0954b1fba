"""What the surfaces show of accounts: balances, services, contracts, pages of accounts.

Reads without rules today, kept behind this module so that a surface never holds a query
and a rule added later (a role that sees less, a cache) has one place to go.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import repository as repo
from abonent.models import Account, AccountBalance, Contract, Service


async def balance(session: AsyncSession, account_id: int) -> AccountBalance | None:
    return await repo.balance(session, account_id)


async def services_of(session: AsyncSession, account_id: int) -> Sequence[Service]:
    """In the order they were added."""
    return await repo.services_of(session, account_id)


async def contracts_of(session: AsyncSession, account_id: int) -> Sequence[Contract]:
    return await repo.contracts_of(session, account_id)


async def accounts_of(session: AsyncSession, customer_id: int) -> Sequence[Account]:
    return await repo.accounts_of(session, customer_id)


async def tariff_codes(session: AsyncSession, tariff_ids: set[int]) -> dict[int, str]:
    return await repo.tariff_codes(session, tariff_ids)


async def page(
    session: AsyncSession,
    *,
    in_debt: bool | None,
    status: str | None,
    after_id: int,
    limit: int,
) -> Sequence[tuple[Account, AccountBalance]]:
    """Accounts with ids above ``after_id`` in id order, filtered by debt and status."""
    return await repo.page(session, in_debt=in_debt, status=status, after_id=after_id, limit=limit)
