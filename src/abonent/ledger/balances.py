"""The balance row of an account: its lock, its creation, and the account's currency.

``account_balances`` is the ledger's cache of an account's postings (reconciled by
:mod:`abonent.ledger.reconcile`) and the row every money write of an account locks first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit import clock
from abonent.models import Account, AccountBalance

IN_CHUNK = 1_000


def _empty(account_id: int, now: dt.datetime) -> AccountBalance:
    return AccountBalance(
        account_id=account_id, balance_minor=0, debt_minor=0, entries_count=0, updated_at=now
    )


def open_balance(session: AsyncSession, account_id: int, *, at: dt.datetime) -> AccountBalance:
    """Add the zero balance row of an account opened ``at`` (flushed with the account)."""
    row = _empty(account_id, at)
    session.add(row)
    return row


async def lock_balance(session: AsyncSession, account_id: int) -> AccountBalance:
    """Lock the account for a money operation and return its current balance row.

    PostgreSQL: ``SELECT … FOR UPDATE`` on the balance row serialises writers of one account.
    SQLite: the unit of work began with ``BEGIN IMMEDIATE``, so it is already the only writer.
    """
    row = await session.scalar(
        select(AccountBalance)
        .where(AccountBalance.account_id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        # Every account gets its row when opened; this only heals older data.
        row = _empty(account_id, clock.now())
        session.add(row)
        await session.flush()
    return row


async def lock_accounts(session: AsyncSession, account_ids: Sequence[int]) -> Mapping[int, str]:
    """Lock the balance rows of many accounts, in ascending account id, and return each
    account's currency.

    The ascending order is what lets two batches, or a batch and a payment, queue instead of
    deadlocking. A row missing (older data) is created, as :func:`lock_balance` does.
    """
    now = clock.now()
    currency: dict[int, str] = {}
    for part in _chunks(sorted(set(account_ids))):
        rows = await session.execute(
            select(AccountBalance.account_id, Account.currency)
            .join(Account, Account.id == AccountBalance.account_id)
            .where(AccountBalance.account_id.in_(part))
            .order_by(AccountBalance.account_id)
            .with_for_update(of=AccountBalance)
        )
        for account_id, code in rows:
            currency[account_id] = code
        missing = [account_id for account_id in part if account_id not in currency]
        if missing:
            # Every account gets its row when opened; this only heals older data.
            healed = await session.execute(
                select(Account.id, Account.currency).where(Account.id.in_(missing))
            )
            for account_id, code in healed:
                currency[account_id] = code
                session.add(_empty(account_id, now))
            await session.flush()
    return currency


async def account_currency(session: AsyncSession, account_id: int) -> str:
    """The account's currency: what every posting and open item of it is denominated in.

    Read through the session's identity map, so a caller holding the account costs no query.
    """
    return (await session.get_one(Account, account_id)).currency


def _chunks(values: Sequence[int]) -> list[Sequence[int]]:
    return [values[i : i + IN_CHUNK] for i in range(0, len(values), IN_CHUNK)]
