"""The ledger side of a dispute: setting its charges aside, and the credit of an accepted claim.

A claim accepted (in full or in part) is settled by a credit entry ``dispute_credit`` per
dispute that mirrors the disputed charges' revenue: revenue of the charge's service kind is
debited, the subscriber credited. The credit first clears the disputed charges themselves (so the
debt by service falls where the claim was), and what is left of it (a charge already paid)
goes on like any prepaid money. The entry's ``source`` is ``dispute:<id>``: the entry is written
at most once per dispute, checked under the account's balance lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit import clock
from abonent.ledger.allocation import allocate, match, open_item
from abonent.ledger.balances import account_currency, lock_balance
from abonent.ledger.chart import CREDIT, DEBIT, SUBSCRIBER_LEDGER, revenue_ledger
from abonent.ledger.errors import UnbalancedEntry
from abonent.ledger.service import Leg, Posted, post_entry
from abonent.models import JournalEntry, OpenItem, Service

DISPUTE_CREDIT = "dispute_credit"
"""Entry kind and credit item kind of an accepted claim."""


def dispute_source(dispute_id: int) -> str:
    return f"dispute:{dispute_id}"


async def set_disputed(session: AsyncSession, item_ids: Sequence[int], disputed: bool) -> None:
    """Mark open items as under (or no longer under) a claim: allocation takes them last."""
    if item_ids:
        await session.execute(
            update(OpenItem).where(OpenItem.id.in_(list(item_ids))).values(disputed=disputed)
        )


async def credit_accepted_claim(
    session: AsyncSession,
    *,
    account_id: int,
    dispute_id: int,
    accepted: Mapping[int, int],
    actor: str,
) -> tuple[Posted, bool]:
    """Credit ``accepted`` (open item id → kopecks) once for the dispute.

    Returns the entry and whether it was written now (False: the dispute was credited before,
    and the earlier entry is returned). Every amount must be positive and at most the item's
    original amount; the items must be debits of the account."""
    balance = await lock_balance(session, account_id)
    source = dispute_source(dispute_id)
    earlier = await session.scalar(
        select(JournalEntry).where(
            JournalEntry.account_id == account_id,
            JournalEntry.kind == DISPUTE_CREDIT,
            JournalEntry.source == source,
        )
    )
    if earlier is not None:
        return Posted(earlier), False
    items = {
        item.id: item
        for item in await session.scalars(
            select(OpenItem).where(OpenItem.id.in_(list(accepted))).order_by(OpenItem.id)
        )
    }
    service_ids = [i.service_id for i in items.values() if i.service_id]
    rows = await session.execute(
        select(Service.id, Service.kind).where(Service.id.in_(service_ids))
    )
    kinds = {service_id: kind for service_id, kind in rows.all()}
    legs: dict[str, int] = {}
    for item_id, amount in accepted.items():
        item = items.get(item_id)
        if item is None or item.account_id != account_id or item.side != DEBIT:
            raise UnbalancedEntry(f"open item {item_id} is not a charge of account {account_id}")
        if not isinstance(amount, int) or isinstance(amount, bool) or not amount > 0:
            raise UnbalancedEntry("accepted amounts are positive kopecks")
        if amount > item.amount_minor:
            raise UnbalancedEntry("accepted more than the charge")
        ledger = revenue_ledger(kinds.get(item.service_id) if item.service_id else None)
        legs[ledger] = legs.get(ledger, 0) + amount
    total = sum(accepted.values())
    entry, balance = await post_entry(
        session,
        account_id=account_id,
        kind=DISPUTE_CREDIT,
        legs=[
            *(Leg(ledger, amount) for ledger, amount in sorted(legs.items())),
            Leg(SUBSCRIBER_LEDGER, -total),
        ],
        business_date=clock.today(),
        memo=f"Претензия №{dispute_id} удовлетворена",
        source=source,
        actor=actor,
    )
    credit = open_item(
        entry,
        CREDIT,
        DISPUTE_CREDIT,
        total,
        clock.today(),
        description=f"Претензия №{dispute_id}",
        currency=await account_currency(session, account_id),
    )
    session.add(credit)
    await session.flush()
    made = []
    for item_id, amount in sorted(accepted.items()):
        item = items[item_id]
        part = min(amount, item.remaining_minor, credit.remaining_minor)
        if part > 0:
            allocation = match(balance, item, credit, part, entry)
            session.add(allocation)
            made.append(allocation)
    await session.flush()
    made += await allocate(session, balance, entry)
    return Posted(entry, credit, made), True
