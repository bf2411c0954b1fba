"""The double-entry ledger: entries, charges, credits and reversals, one account at a time.

Every money movement of one account goes through :func:`post_entry`: it locks the account's
balance row, writes an entry whose postings sum to zero, and moves the balance in the same
transaction. Charges become debit open items, payments and credits become credit open items,
and :mod:`abonent.ledger.allocation` matches them oldest due date first. Many charges at once
go through :mod:`abonent.ledger.bulk`, under the same rules. The ledgers and kinds are those of
:mod:`abonent.ledger.chart`; the currency is always the account's. Nothing here commits: the
caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.config import get_settings
from abonent.kit import clock
from abonent.ledger.allocation import allocate, match, open_item, unallocate
from abonent.ledger.balances import account_currency, lock_balance
from abonent.ledger.chart import (
    CHARGE,
    CREDIT,
    DEBIT,
    FEE,
    ITEM_ONE_OFF,
    ITEM_PAYMENT,
    ITEM_REVERSAL,
    PAYMENT,
    REVERSAL,
    SUBSCRIBER_LEDGER,
)
from abonent.ledger.errors import AlreadyReversed, EntryNotFound, NotReversible, UnbalancedEntry
from abonent.models import AccountBalance, Allocation, JournalEntry, OpenItem, Posting

# Re-exported: the services import the ledger's vocabulary from here.
__all__ = [
    "CREDIT",
    "DEBIT",
    "Leg",
    "Posted",
    "allocate",
    "lock_balance",
    "post_charge",
    "post_credit",
    "post_entry",
    "reverse_entry",
]


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of an entry. ``amount_minor`` > 0 debits ``ledger``, < 0 credits it."""

    ledger: str
    amount_minor: int


@dataclass(slots=True)
class Posted:
    """What a money operation did: the entry, the item it opened, the allocations it made."""

    entry: JournalEntry
    item: OpenItem | None = None
    allocations: list[Allocation] = field(default_factory=list)


async def post_entry(
    session: AsyncSession,
    *,
    account_id: int,
    kind: str,
    legs: Sequence[Leg],
    business_date: dt.date,
    memo: str = "",
    source: str | None = None,
    actor: str = "system",
    reverses_entry_id: int | None = None,
    locked: AccountBalance | None = None,
) -> tuple[JournalEntry, AccountBalance]:
    """Write one balanced entry and move the balance; return both.

    Writes one ``journal_entries`` row and one ``postings`` row per leg, in the account's
    currency, and moves the balance row's ``balance_minor`` by the subscriber legs. Open items
    are the caller's (:func:`post_charge`, :func:`post_credit`, :func:`reverse_entry`).
    ``locked``: the caller already holds the account's balance row (from :func:`lock_balance`
    in this unit of work); saves a round trip. Raises :class:`UnbalancedEntry`, having written
    nothing, unless there are two or more legs of non-zero integers summing to zero."""
    if len(legs) < 2:
        raise UnbalancedEntry("an entry needs at least two postings")
    for leg in legs:
        if not isinstance(leg.amount_minor, int) or isinstance(leg.amount_minor, bool):
            raise UnbalancedEntry("posting amounts are integers in kopecks")
        if leg.amount_minor == 0:
            raise UnbalancedEntry("a posting of zero says nothing")
    if sum(leg.amount_minor for leg in legs) != 0:
        raise UnbalancedEntry("postings of an entry must sum to zero")
    if locked is not None and locked.account_id != account_id:
        raise AssertionError("the locked balance belongs to another account")
    balance = locked if locked is not None else await lock_balance(session, account_id)
    currency = await account_currency(session, account_id)
    now = clock.now()
    entry = JournalEntry(
        account_id=account_id,
        kind=kind,
        memo=memo[:255],
        source=source,
        actor=actor,
        business_date=business_date,
        created_at=now,
        reverses_entry_id=reverses_entry_id,
    )
    session.add(entry)
    await session.flush()
    session.add_all(
        Posting(
            entry_id=entry.id,
            account_id=account_id,
            ledger=leg.ledger,
            amount_minor=leg.amount_minor,
            currency=currency,
        )
        for leg in legs
    )
    # Subscriber debits are what they owe: the balance they see moves the other way.
    balance.balance_minor -= sum(
        leg.amount_minor for leg in legs if leg.ledger == SUBSCRIBER_LEDGER
    )
    balance.entries_count += 1
    balance.updated_at = now
    return entry, balance


async def post_charge(
    session: AsyncSession,
    *,
    account_id: int,
    amount_minor: int,
    revenue_ledger: str,
    due_date: dt.date,
    kind: str = ITEM_ONE_OFF,
    service_id: int | None = None,
    period: str | None = None,
    description: str = "",
    external_id: str | None = None,
    charged_on: dt.date | None = None,
    actor: str = "system",
    source: str | None = None,
) -> Posted:
    """Debit the subscriber: a new debit open item that payments and prepaid money will clear.

    A FEE entry when ``kind`` is the fee item kind, a CHARGE entry otherwise; the debt rises by
    ``amount_minor`` and money already on the account is allocated to it at once."""
    _positive(amount_minor)
    today = clock.today()
    entry, balance = await post_entry(
        session,
        account_id=account_id,
        kind=FEE if kind == FEE else CHARGE,
        legs=[Leg(SUBSCRIBER_LEDGER, amount_minor), Leg(revenue_ledger, -amount_minor)],
        business_date=charged_on or today,
        memo=description,
        source=source,
        actor=actor,
    )
    item = open_item(
        entry,
        DEBIT,
        kind,
        amount_minor,
        due_date,
        service_id=service_id,
        period=period,
        description=description,
        external_id=external_id,
        charged_on=charged_on,
        currency=await account_currency(session, account_id),
    )
    session.add(item)
    balance.debt_minor += amount_minor
    await session.flush()
    allocations = await allocate(session, balance, entry)
    return Posted(entry, item, allocations)


async def post_credit(
    session: AsyncSession,
    *,
    account_id: int,
    amount_minor: int,
    counter_ledger: str,
    kind: str = ITEM_PAYMENT,
    entry_kind: str = PAYMENT,
    description: str = "",
    actor: str = "system",
    source: str | None = None,
    business_date: dt.date | None = None,
    locked: AccountBalance | None = None,
) -> Posted:
    """Credit the subscriber (a payment, a goodwill credit): a credit open item, allocated to
    the oldest debt at once. ``counter_ledger``: usually :func:`chart.clearing_ledger`."""
    _positive(amount_minor)
    today = business_date or clock.today()
    entry, balance = await post_entry(
        session,
        account_id=account_id,
        kind=entry_kind,
        legs=[Leg(counter_ledger, amount_minor), Leg(SUBSCRIBER_LEDGER, -amount_minor)],
        business_date=today,
        memo=description,
        source=source,
        actor=actor,
        locked=locked,
    )
    currency = await account_currency(session, account_id)
    item = open_item(
        entry, CREDIT, kind, amount_minor, today, description=description, currency=currency
    )
    session.add(item)
    await session.flush()
    allocations = await allocate(session, balance, entry)
    return Posted(entry, item, allocations)


async def reverse_entry(session: AsyncSession, entry_id: int, *, reason: str, actor: str) -> Posted:
    """Post the mirror image of an entry and undo what its open items had cleared.

    A reversed charge gives back the payments that had cleared it (they become prepaid money
    and go on to clear other debt); a reversed payment re-opens the charges it had paid, with
    their services and due dates, so the debt by service is what it was before. The mirror's
    postings and items are in the account's currency, whatever the reversed rows say.
    """
    original = await session.get(JournalEntry, entry_id)
    if original is None:
        raise EntryNotFound(f"no journal entry {entry_id}")
    if original.reverses_entry_id is not None:
        raise NotReversible("a reversal is not itself reversed; post a new entry instead")
    balance = await lock_balance(session, original.account_id)
    already = await session.scalar(
        select(JournalEntry.id).where(JournalEntry.reverses_entry_id == entry_id)
    )
    if already is not None:
        raise AlreadyReversed(f"entry {entry_id} was already reversed by entry {already}")
    legs = [
        Leg(p.ledger, -p.amount_minor)
        for p in await session.scalars(select(Posting).where(Posting.entry_id == entry_id))
    ]
    entry, balance = await post_entry(
        session,
        account_id=original.account_id,
        kind=REVERSAL,
        legs=legs,
        business_date=clock.today(),
        memo=f"Сторно проводки №{entry_id}: {reason}"[:255],
        source=f"reversal:{entry_id}",
        actor=actor,
        reverses_entry_id=entry_id,
    )
    made: list[Allocation] = []
    items = list(
        await session.scalars(
            select(OpenItem).where(OpenItem.entry_id == entry_id).order_by(OpenItem.id)
        )
    )
    currency = await account_currency(session, original.account_id)
    mirror: OpenItem | None = None
    for item in items:
        made += await unallocate(session, balance, item, entry)
        side = CREDIT if item.side == DEBIT else DEBIT
        mirror = open_item(
            entry,
            side,
            ITEM_REVERSAL,
            item.amount_minor,
            clock.today(),
            service_id=item.service_id,
            period=item.period,
            description=f"Reversal: {item.description}"[:255],
            currency=currency,
        )
        session.add(mirror)
        if side == DEBIT:
            balance.debt_minor += mirror.amount_minor
        await session.flush()
        debit, credit = (item, mirror) if item.side == DEBIT else (mirror, item)
        allocation = match(balance, debit, credit, item.amount_minor, entry)
        session.add(allocation)
        made.append(allocation)
    await session.flush()
    made += await allocate(session, balance, entry)
    return Posted(entry, mirror, made)


def _open_item(
    entry: JournalEntry,
    side: str,
    kind: str,
    amount_minor: int,
    due_date: dt.date,
    *,
    currency: str | None = None,
    service_id: int | None = None,
    period: str | None = None,
) -> OpenItem:
    """An open item built by hand, for tests that lay out data the services would not write
    (the ledger's own writes call :func:`abonent.ledger.allocation.open_item` with the
    account's currency). ``currency``: the operator's house currency unless given."""
    return open_item(
        entry,
        side,
        kind,
        amount_minor,
        due_date,
        currency=currency or get_settings().currency,
        service_id=service_id,
        period=period,
    )


def _positive(amount_minor: int) -> None:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise UnbalancedEntry("amount must be a positive integer of kopecks")
