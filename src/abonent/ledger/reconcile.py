"""Recompute every balance from the postings and the open items, and report any drift.

The balance row is a cache kept in step by every posting; this is the check that it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.ledger.chart import DEBIT, SUBSCRIBER_LEDGER
from abonent.models import Account, AccountBalance, JournalEntry, OpenItem, Posting


@dataclass(frozen=True, slots=True)
class Drift:
    account_number: str
    what: str
    """'balance', 'debt', 'open_items' (open debits minus credits disagree with postings)."""
    stored_minor: int
    computed_minor: int


@dataclass(frozen=True, slots=True)
class Report:
    accounts: int
    entries: int
    unbalanced_entries: list[int]
    drifts: list[Drift]

    @property
    def clean(self) -> bool:
        return not self.drifts and not self.unbalanced_entries


async def reconcile(session: AsyncSession) -> Report:
    subscriber = (
        select(Posting.account_id, func.sum(Posting.amount_minor).label("total"))
        .where(Posting.ledger == SUBSCRIBER_LEDGER)
        .group_by(Posting.account_id)
        .subquery()
    )
    items = (
        select(
            OpenItem.account_id,
            func.sum(case((OpenItem.side == DEBIT, OpenItem.remaining_minor), else_=0)).label(
                "debt"
            ),
            func.sum(
                case(
                    (OpenItem.side == DEBIT, OpenItem.remaining_minor),
                    else_=-OpenItem.remaining_minor,
                )
            ).label("net"),
        )
        .where(OpenItem.remaining_minor != 0)
        .group_by(OpenItem.account_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Account.number,
            AccountBalance.balance_minor,
            AccountBalance.debt_minor,
            func.coalesce(subscriber.c.total, 0),
            func.coalesce(items.c.debt, 0),
            func.coalesce(items.c.net, 0),
        )
        .join(AccountBalance, AccountBalance.account_id == Account.id)
        .outerjoin(subscriber, subscriber.c.account_id == Account.id)
        .outerjoin(items, items.c.account_id == Account.id)
        .order_by(Account.number)
    )
    drifts: list[Drift] = []
    count = 0
    for number, balance, debt, posted, open_debt, open_net in rows:
        count += 1
        # The subscriber's balance is the opposite of what the subscriber ledger holds.
        if balance != -int(posted):
            drifts.append(Drift(number, "balance", balance, -int(posted)))
        if debt != int(open_debt):
            drifts.append(Drift(number, "debt", debt, int(open_debt)))
        if int(open_net) != int(posted):
            drifts.append(Drift(number, "open_items", int(open_net), int(posted)))
    unbalanced = list(
        (
            await session.scalars(
                select(Posting.entry_id)
                .group_by(Posting.entry_id)
                .having(func.sum(Posting.amount_minor) != 0)
                .order_by(Posting.entry_id)
            )
        ).all()
    )
    entries = await session.scalar(select(func.count()).select_from(JournalEntry)) or 0
    return Report(
        accounts=count, entries=int(entries), unbalanced_entries=unbalanced, drifts=drifts
    )
