"""Posting many charges at once, set-based, on both databases: the ledger's bulk path.

The rules are :func:`abonent.ledger.service.post_charge`'s, applied to a batch: every charge
becomes a debit open item, the subscriber is debited and revenue credited, the balance and the
debt move, and money already on an account is allocated to the new debt. What differs is the
shape: one journal entry per account (not per charge) whose postings are aggregated per
revenue ledger, and the open items written in one statement (PostgreSQL: ``COPY``; SQLite:
``executemany``), which is what makes a 300 000-line import take seconds.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit import clock
from abonent.ledger.allocation import allocate
from abonent.ledger.balances import IN_CHUNK
from abonent.ledger.chart import CREDIT, DEBIT, SUBSCRIBER_LEDGER
from abonent.ledger.errors import UnbalancedEntry
from abonent.models import AccountBalance, JournalEntry, OpenItem, Posting
from abonent.models.ledger import still_open

ITEM_COLUMNS = (
    "account_id",
    "service_id",
    "entry_id",
    "side",
    "kind",
    "amount_minor",
    "remaining_minor",
    "currency",
    "period",
    "description",
    "external_id",
    "charged_on",
    "due_date",
    "disputed",
    "created_at",
)
_SQLITE_CACHE_KIB = -65_536  # negative: KiB, i.e. 64 MiB


class BulkCharge(Protocol):
    """One charge of a batch (``abonent.charges.schemas.NewCharge`` is one)."""

    @property
    def external_id(self) -> str: ...
    @property
    def account_id(self) -> int: ...
    @property
    def service_id(self) -> int | None: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def ledger(self) -> str: ...
    @property
    def period(self) -> str | None: ...
    @property
    def charged_on(self) -> dt.date: ...
    @property
    def due_date(self) -> dt.date: ...
    @property
    def description(self) -> str: ...


@dataclass(frozen=True, slots=True)
class BulkPosted:
    """What :func:`post_charges` wrote."""

    total_minor: int
    accounts: int
    allocated_minor: int


async def post_charges(
    session: AsyncSession,
    locked: Mapping[int, str],
    charges: Sequence[BulkCharge],
    *,
    entry_kind: str,
    source: str,
    memo: str,
    actor: str,
) -> BulkPosted:
    """Post a batch of charges for locked accounts, in the caller's unit of work. Flushes,
    never commits.

    Preconditions, the caller's to hold:

    - ``locked`` is what :func:`abonent.ledger.balances.lock_accounts` returned in this unit of
      work for (at least) every account of ``charges``: the balance rows are locked, and it
      maps each account to its currency;
    - no external id of ``charges`` is in the ledger yet (the caller reads them under the
      locks and drops or refuses those that are); one that is fails the unique index with
      :class:`IntegrityError`, which the unit of work retries;
    - every amount is an integer of kopecks (the type says so; it is not checked row by row
      on a path built for 300 000 rows), and positive (else :class:`UnbalancedEntry`, nothing
      written).

    Writes, per account of the batch: one ``journal_entries`` row (``entry_kind``, ``source``,
    ``memo``, ``actor``, today's business date); one ``postings`` row debiting the subscriber
    the account's total and one crediting each revenue ledger its part, in the account's
    currency; one debit ``open_items`` row per charge; the ``account_balances`` row moved
    (balance down and debt up by the total, one entry more); and, for accounts holding
    unallocated credit, the ``allocations`` :func:`abonent.ledger.allocation.allocate` makes.
    """
    missing = {c.account_id for c in charges} - locked.keys()
    if missing:
        raise AssertionError(f"charges for accounts not locked: {sorted(missing)[:5]}")
    per_account: dict[int, int] = defaultdict(int)
    per_ledger: dict[tuple[int, str], int] = defaultdict(int)
    for c in charges:
        amount = c.amount_minor
        if amount <= 0:
            raise UnbalancedEntry("amount must be a positive number of kopecks")
        per_account[c.account_id] += amount
        per_ledger[(c.account_id, c.ledger)] += amount
    accounts = sorted(per_account)
    if not accounts:
        return BulkPosted(0, 0, 0)
    await session.flush()
    now, today = clock.now(), clock.today()

    inserted = await session.execute(
        # Each row says whose entry it is: no need to pay for returning them in order (which
        # SQLite could only do one INSERT at a time).
        insert(JournalEntry).returning(JournalEntry.id, JournalEntry.account_id),
        [
            {
                "account_id": account_id,
                "kind": entry_kind,
                "memo": memo[:255],
                "source": source[:128],
                "actor": actor[:128],
                "business_date": today,
                "created_at": now,
            }
            for account_id in accounts
        ],
    )
    entry_of = {account_id: entry_id for entry_id, account_id in inserted}

    if session.get_bind().dialect.name == "postgresql":
        await _copy_items(session, charges, entry_of, locked, now)
    else:
        await _insert_items_sqlite(session, charges, entry_of, locked, now)

    legs: list[dict[str, Any]] = [
        {
            "entry_id": entry_of[account_id],
            "account_id": account_id,
            "ledger": SUBSCRIBER_LEDGER,
            "amount_minor": per_account[account_id],
            "currency": locked[account_id],
        }
        for account_id in accounts
    ]
    legs += [
        {
            "entry_id": entry_of[account_id],
            "account_id": account_id,
            "ledger": ledger,
            "amount_minor": -amount,
            "currency": locked[account_id],
        }
        for (account_id, ledger), amount in sorted(per_ledger.items())
    ]
    await session.execute(insert(Posting), legs)

    balances = cast(Table, AccountBalance.__table__)
    await session.execute(
        update(balances)
        .where(balances.c.account_id == bindparam("b_account"))
        .values(
            # The subscriber is debited: what they see falls, what they owe rises.
            balance_minor=balances.c.balance_minor - bindparam("b_total"),
            debt_minor=balances.c.debt_minor + bindparam("b_total"),
            entries_count=balances.c.entries_count + 1,
            updated_at=bindparam("b_now", type_=AccountBalance.updated_at.type),
        ),
        [{"b_account": a, "b_total": per_account[a], "b_now": now} for a in accounts],
    )
    await _refresh_loaded_balances(session, set(accounts))
    allocated = await _allocate_prepaid(session, accounts, entry_of)
    return BulkPosted(sum(per_account.values()), len(accounts), allocated)


async def _copy_items(
    session: AsyncSession,
    charges: Sequence[BulkCharge],
    entry_of: Mapping[int, int],
    currency: Mapping[int, str],
    now: dt.datetime,
) -> None:
    """COPY the open items straight into the table, inside the unit of work's transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    records = [
        (
            c.account_id,
            c.service_id,
            entry_of[c.account_id],
            DEBIT,
            c.kind,
            c.amount_minor,
            c.amount_minor,
            currency[c.account_id],
            c.period,
            c.description,
            c.external_id,
            c.charged_on,
            c.due_date,
            False,
            now,
        )
        for c in charges
    ]
    try:
        await driver.copy_records_to_table("open_items", records=records, columns=ITEM_COLUMNS)
    except Exception as exc:
        # The driver's own error: give it the shape the unit of work knows how to retry (a
        # concurrent import of the same external id surfaces here as a unique violation).
        state = str(getattr(exc, "sqlstate", "") or "")
        if not state:
            raise
        kind = IntegrityError if state.startswith("23") else DBAPIError
        raise kind("COPY open_items", None, exc) from exc


async def _insert_items_sqlite(
    session: AsyncSession,
    charges: Sequence[BulkCharge],
    entry_of: Mapping[int, int],
    currency: Mapping[int, str],
    now: dt.datetime,
) -> None:
    connection = await session.connection()
    dialect = connection.dialect
    table = cast(Table, OpenItem.__table__)
    as_datetime = table.c.created_at.type.bind_processor(dialect)
    as_date = table.c.due_date.type.bind_processor(dialect)
    created = as_datetime(now) if as_datetime else now
    dates: dict[dt.date, Any] = {}

    def day(value: dt.date) -> Any:
        stored = dates.get(value)
        if stored is None:
            stored = dates[value] = as_date(value) if as_date else value
        return stored

    rows = [
        (
            c.account_id,
            c.service_id,
            entry_of[c.account_id],
            DEBIT,
            c.kind,
            c.amount_minor,
            c.amount_minor,
            currency[c.account_id],
            c.period,
            c.description,
            c.external_id,
            day(c.charged_on),
            day(c.due_date),
            0,
            created,
        )
        for c in charges
    ]
    # Built from the constant column list above, never from input.
    sql = (
        f"INSERT INTO open_items ({', '.join(ITEM_COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join('?' for _ in ITEM_COLUMNS)})"
    )
    # SQLite's default page cache (2 MB) turns every insert into the open-item indexes into a
    # page miss once the table outgrows it; a larger cache for the length of the insert keeps
    # the rate from halving as the ledger grows.
    previous = (await connection.exec_driver_sql("PRAGMA cache_size")).scalar()
    await connection.exec_driver_sql(f"PRAGMA cache_size={_SQLITE_CACHE_KIB}")
    try:
        await connection.exec_driver_sql(sql, rows)
    finally:
        await connection.exec_driver_sql(f"PRAGMA cache_size={int(previous or -2000)}")


async def _refresh_loaded_balances(session: AsyncSession, accounts: set[int]) -> None:
    """Balance rows this session already holds were changed behind the ORM's back."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, AccountBalance) and obj.account_id in accounts:
            await session.refresh(obj)


async def _allocate_prepaid(
    session: AsyncSession, accounts: Sequence[int], entry_of: Mapping[int, int]
) -> int:
    """Let money already on the account clear the new charges, oldest due date first."""
    prepaid: list[int] = []
    for start in range(0, len(accounts), IN_CHUNK):
        part = accounts[start : start + IN_CHUNK]
        prepaid += (
            await session.scalars(
                select(OpenItem.account_id)
                .where(
                    OpenItem.account_id.in_(part),
                    OpenItem.side == CREDIT,
                    still_open(),
                )
                .distinct()
            )
        ).all()
    prepaid.sort()
    allocated = 0
    for start in range(0, len(prepaid), IN_CHUNK):
        part = prepaid[start : start + IN_CHUNK]
        # The batch holds these rows locked already: read them (fresh) and their new entries in
        # two queries rather than two per account.
        balances = {
            b.account_id: b
            for b in await session.scalars(
                select(AccountBalance)
                .where(AccountBalance.account_id.in_(part))
                .execution_options(populate_existing=True)
            )
        }
        entries = {
            e.account_id: e
            for e in await session.scalars(
                select(JournalEntry).where(JournalEntry.id.in_([entry_of[a] for a in part]))
            )
        }
        for account_id in part:
            made = await allocate(session, balances[account_id], entries[account_id])
            allocated += sum(a.amount_minor for a in made)
    return allocated
