"""Writing debt off to the bad-debt ledger: the one ledger write of the collections stage.

One entry debits :data:`chart.BAD_DEBT_LEDGER` and credits the subscriber; its credit item is
matched to exactly the debit items named (not oldest-first: the approval covered those items),
so the debt leaves the statement while the charges and the write-off stay in the history.
Idempotent by the credit item's ``external_id`` (``write_off:<key>``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.ledger.allocation import match, open_item
from abonent.ledger.balances import account_currency, lock_balance
from abonent.ledger.chart import (
    BAD_DEBT_LEDGER,
    CREDIT,
    DEBIT,
    ITEM_WRITE_OFF,
    SUBSCRIBER_LEDGER,
    WRITE_OFF,
)
from abonent.ledger.errors import UnbalancedEntry
from abonent.ledger.service import Leg, Posted, post_entry
from abonent.models import JournalEntry, OpenItem


async def write_off(
    session: AsyncSession,
    *,
    account_id: int,
    item_ids: Sequence[int],
    key: str,
    business_date: dt.date,
    memo: str,
    actor: str,
) -> Posted:
    """Write off what remains on ``item_ids`` (debit items of the account). A second call with
    the same ``key`` returns the first entry and writes nothing."""
    external_id = f"write_off:{key}"
    balance = await lock_balance(session, account_id)
    done = await session.scalar(select(OpenItem).where(OpenItem.external_id == external_id))
    if done is not None:
        return Posted(await session.get_one(JournalEntry, done.entry_id), done)
    items = list(
        await session.scalars(
            select(OpenItem)
            .where(OpenItem.id.in_(list(item_ids)), OpenItem.account_id == account_id)
            .order_by(OpenItem.due_date, OpenItem.id)
        )
    )
    items = [i for i in items if i.side == DEBIT and i.remaining_minor > 0]
    total = sum(i.remaining_minor for i in items)
    if total <= 0:
        raise UnbalancedEntry("nothing remains owed on these items", code="nothing_to_write_off")
    entry, balance = await post_entry(
        session,
        account_id=account_id,
        kind=WRITE_OFF,
        legs=[Leg(BAD_DEBT_LEDGER, total), Leg(SUBSCRIBER_LEDGER, -total)],
        business_date=business_date,
        memo=memo,
        source=external_id,
        actor=actor,
        locked=balance,
    )
    credit = open_item(
        entry,
        CREDIT,
        ITEM_WRITE_OFF,
        total,
        business_date,
        currency=await account_currency(session, account_id),
        description=memo,
        external_id=external_id,
    )
    session.add(credit)
    await session.flush()
    made = [match(balance, debit, credit, debit.remaining_minor, entry) for debit in items]
    session.add_all(made)
    await session.flush()
    return Posted(entry, credit, made)
