"""Open items and their allocation: which credit cleared how much of which debit.

Charges are debit open items, payments and credits are credit open items; :func:`allocate`
matches them oldest due date first. An allocation is append-only: a reversal re-opens what an
item had cleared by writing the same pair again with a negative amount (:func:`unallocate`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit import clock
from abonent.ledger.chart import CREDIT, DEBIT
from abonent.models import AccountBalance, Allocation, JournalEntry, OpenItem
from abonent.models.ledger import still_open


async def allocate(
    session: AsyncSession, balance: AccountBalance, entry: JournalEntry
) -> list[Allocation]:
    """Match open credits against open debits, oldest due date first.

    Disputed charges come last: money is not spent on a charge the subscriber contests while
    undisputed debt is waiting. ``balance`` is the account's locked row; ``entry`` the entry
    the allocations are booked under.
    """
    # Debits minus credits still open equal minus the balance, so the open credit is
    # debt + balance: when either side is empty there is nothing to match and no need to look.
    if balance.debt_minor <= 0 or balance.debt_minor + balance.balance_minor <= 0:
        return []
    # One read for both sides; credits are never disputed, so one order serves both.
    items = (
        await session.scalars(
            select(OpenItem)
            .where(OpenItem.account_id == balance.account_id, still_open())
            .order_by(OpenItem.disputed, OpenItem.due_date, OpenItem.id)
        )
    ).all()
    credits = [item for item in items if item.side == CREDIT]
    debits = [item for item in items if item.side == DEBIT]
    made: list[Allocation] = []
    credit_iter = iter(credits)
    credit = next(credit_iter, None)
    for debit in debits:
        while credit is not None and debit.remaining_minor > 0:
            amount = min(debit.remaining_minor, credit.remaining_minor)
            made.append(match(balance, debit, credit, amount, entry))
            if credit.remaining_minor == 0:
                credit = next(credit_iter, None)
        if credit is None:
            break
    # Never empty here: past the shortcut above both sides hold something to match.
    session.add_all(made)
    await session.flush()
    return made


async def unallocate(
    session: AsyncSession, balance: AccountBalance, item: OpenItem, entry: JournalEntry
) -> list[Allocation]:
    """Re-open everything ``item`` had been matched with, by negative allocations."""
    column = Allocation.debit_item_id if item.side == DEBIT else Allocation.credit_item_id
    rows = list(await session.scalars(select(Allocation).where(column == item.id)))
    net: dict[tuple[int, int], int] = {}
    for row in rows:
        pair = (row.debit_item_id, row.credit_item_id)
        net[pair] = net.get(pair, 0) + row.amount_minor
    made = []
    for (debit_id, credit_id), amount in net.items():
        if amount == 0:
            continue
        debit = await session.get_one(OpenItem, debit_id)
        credit = await session.get_one(OpenItem, credit_id)
        made.append(match(balance, debit, credit, -amount, entry))
    session.add_all(made)
    await session.flush()
    return made


def match(
    balance: AccountBalance, debit: OpenItem, credit: OpenItem, amount: int, entry: JournalEntry
) -> Allocation:
    """Record an allocation of ``amount`` (negative re-opens) and move both items and the debt."""
    if amount > 0 and (amount > debit.remaining_minor or amount > credit.remaining_minor):
        raise AssertionError("allocation beyond what remains")
    now = clock.now()
    for item in (debit, credit):
        item.remaining_minor -= amount
        if not 0 <= item.remaining_minor <= item.amount_minor:
            raise AssertionError(f"open item {item.id} out of bounds")
        item.cleared_at = now if item.remaining_minor == 0 else None
    balance.debt_minor -= amount
    return Allocation(
        account_id=balance.account_id,
        debit_item_id=debit.id,
        credit_item_id=credit.id,
        amount_minor=amount,
        entry_id=entry.id,
        created_at=now,
    )


def open_item(
    entry: JournalEntry,
    side: str,
    kind: str,
    amount_minor: int,
    due_date: dt.date,
    *,
    currency: str,
    service_id: int | None = None,
    period: str | None = None,
    description: str = "",
    external_id: str | None = None,
    charged_on: dt.date | None = None,
) -> OpenItem:
    """A new open item of ``entry`` with nothing allocated yet (the caller adds it)."""
    return OpenItem(
        account_id=entry.account_id,
        service_id=service_id,
        entry_id=entry.id,
        side=side,
        kind=kind,
        amount_minor=amount_minor,
        remaining_minor=amount_minor,
        currency=currency,
        period=period,
        description=description[:255],
        external_id=external_id,
        charged_on=charged_on,
        due_date=due_date,
        disputed=False,
        created_at=clock.now(),
    )
