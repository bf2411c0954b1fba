"""The double-entry ledger and open-item allocation.

Every money movement goes through :func:`post_entry`: it locks the account's balance row, writes
an entry whose postings sum to zero, and moves the balance in the same transaction. Charges
become debit open items, payments and credits become credit open items, and :func:`allocate`
matches them oldest due date first. Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit import clock
from abonent.ledger.errors import AlreadyReversed, EntryNotFound, NotReversible, UnbalancedEntry
from abonent.models import AccountBalance, Allocation, JournalEntry, OpenItem, Posting
from abonent.models.ledger import SUBSCRIBER_LEDGER, still_open

DEBIT = "debit"
CREDIT = "credit"


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
        row = AccountBalance(
            account_id=account_id,
            balance_minor=0,
            debt_minor=0,
            entries_count=0,
            updated_at=clock.now(),
        )
        session.add(row)
        await session.flush()
    return row


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
    currency: str = "RUB",
    reverses_entry_id: int | None = None,
    locked: AccountBalance | None = None,
) -> tuple[JournalEntry, AccountBalance]:
    """Write one balanced entry and move the balance. ``locked``: the caller already holds the
    account's balance row (from :func:`lock_balance` in this unit of work); saves a round trip."""
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
    kind: str = "one_off",
    service_id: int | None = None,
    period: str | None = None,
    description: str = "",
    external_id: str | None = None,
    charged_on: dt.date | None = None,
    actor: str = "system",
    source: str | None = None,
    currency: str = "RUB",
) -> Posted:
    """Debit the subscriber: a new open item that payments and prepaid money will clear."""
    _positive(amount_minor)
    today = clock.today()
    entry, balance = await post_entry(
        session,
        account_id=account_id,
        kind="fee" if kind == "fee" else "charge",
        legs=[Leg(SUBSCRIBER_LEDGER, amount_minor), Leg(revenue_ledger, -amount_minor)],
        business_date=charged_on or today,
        memo=description,
        source=source,
        actor=actor,
        currency=currency,
    )
    item = _open_item(
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
        currency=currency,
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
    kind: str = "payment",
    entry_kind: str = "payment",
    description: str = "",
    actor: str = "system",
    source: str | None = None,
    business_date: dt.date | None = None,
    currency: str = "RUB",
    locked: AccountBalance | None = None,
) -> Posted:
    """Credit the subscriber (a payment, a goodwill credit): allocated to the oldest debt."""
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
        currency=currency,
        locked=locked,
    )
    item = _open_item(
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
    their services and due dates, so the debt by service is what it was before.
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
        kind="reversal",
        legs=legs,
        business_date=clock.today(),
        memo=f"Reversal of #{entry_id}: {reason}"[:255],
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
    mirror: OpenItem | None = None
    for item in items:
        made += await _unallocate(session, balance, item, entry)
        side = CREDIT if item.side == DEBIT else DEBIT
        mirror = _open_item(
            entry,
            side,
            "reversal",
            item.amount_minor,
            clock.today(),
            service_id=item.service_id,
            period=item.period,
            description=f"Reversal: {item.description}"[:255],
            currency=item.currency,
        )
        session.add(mirror)
        if side == DEBIT:
            balance.debt_minor += mirror.amount_minor
        await session.flush()
        debit, credit = (item, mirror) if item.side == DEBIT else (mirror, item)
        allocation = _match(balance, debit, credit, item.amount_minor, entry)
        session.add(allocation)
        made.append(allocation)
    await session.flush()
    made += await allocate(session, balance, entry)
    return Posted(entry, mirror, made)


async def allocate(
    session: AsyncSession, balance: AccountBalance, entry: JournalEntry
) -> list[Allocation]:
    """Match open credits against open debits, oldest due date first.

    Disputed charges come last: money is not spent on a charge the subscriber contests while
    undisputed debt is waiting.
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
            made.append(_match(balance, debit, credit, amount, entry))
            if credit.remaining_minor == 0:
                credit = next(credit_iter, None)
        if credit is None:
            break
    if made:
        session.add_all(made)
        await session.flush()
    return made


async def _unallocate(
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
        debit = await session.get(OpenItem, debit_id)
        credit = await session.get(OpenItem, credit_id)
        assert debit is not None and credit is not None
        made.append(_match(balance, debit, credit, -amount, entry))
    session.add_all(made)
    await session.flush()
    return made


def _match(
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
    allocation = Allocation(
        account_id=balance.account_id,
        debit_item_id=debit.id,
        credit_item_id=credit.id,
        amount_minor=amount,
        entry_id=entry.id,
        created_at=now,
    )
    return allocation


def _open_item(
    entry: JournalEntry,
    side: str,
    kind: str,
    amount_minor: int,
    due_date: dt.date,
    *,
    service_id: int | None = None,
    period: str | None = None,
    description: str = "",
    external_id: str | None = None,
    charged_on: dt.date | None = None,
    currency: str = "RUB",
) -> OpenItem:
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


def _positive(amount_minor: int) -> None:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise UnbalancedEntry("amount must be a positive integer of kopecks")
