"""Writing many charges at once: one unit of work per batch, set-based, on both databases.

A batch locks the balance rows of its accounts (ascending account id, so two batches, or a batch
and a payment, queue instead of deadlocking), drops the charges whose external id is already in
the ledger, and then writes, per account, one journal entry whose postings are aggregated per
revenue ledger, one debit open item per charge (PostgreSQL: ``COPY``; SQLite: ``executemany``),
and the balance row. Accounts holding prepaid money then run the ledger's own allocation.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import String, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.charges.errors import ChargeConflict
from abonent.charges.schemas import BatchResult, NewCharge, RowError
from abonent.config import get_settings
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.money import format_plain
from abonent.ledger.service import CREDIT, DEBIT, allocate
from abonent.models import AccountBalance, JournalEntry, OpenItem, Posting
from abonent.models.ledger import SUBSCRIBER_LEDGER, still_open

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
_IN_CHUNK = 1_000
_PG_ARRAY_CHUNK = 50_000
_SQLITE_IN_CHUNK = 5_000
_SQLITE_CACHE_KIB = -65_536  # negative: KiB, i.e. 64 MiB


class Existing(NamedTuple):
    """What identifies a charge already in the ledger under an external id."""

    account_id: int
    service_id: int | None
    amount_minor: int
    kind: str
    period: str | None


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def existing_items(session: AsyncSession, external_ids: Sequence[str]) -> dict[str, Existing]:
    """The open items already holding any of ``external_ids``."""
    found: dict[str, Existing] = {}
    columns = (
        OpenItem.external_id,
        OpenItem.account_id,
        OpenItem.service_id,
        OpenItem.amount_minor,
        OpenItem.kind,
        OpenItem.period,
    )
    if is_postgres(session):
        # A join with the unnested array, not "= ANY(array)": a prepared statement gets a generic
        # plan, where ANY over a parameter is a linear search of the array for every row.
        for part in chunks(external_ids, _PG_ARRAY_CHUNK):
            wanted = (
                func.unnest(bindparam("ids", list(part), type_=ARRAY(String)))
                .table_valued("external_id")
                .render_derived()
            )
            rows = await session.execute(
                select(*columns).join(wanted, wanted.c.external_id == OpenItem.external_id)
            )
            _collect(found, rows)
    else:
        for part in chunks(external_ids, _SQLITE_IN_CHUNK):
            rows = await session.execute(select(*columns).where(OpenItem.external_id.in_(part)))
            _collect(found, rows)
    return found


def _collect(
    found: dict[str, Existing],
    rows: Iterable[tuple[str | None, int, int | None, int, str, str | None]],
) -> None:
    for external_id, account_id, service_id, amount_minor, kind, period in rows:
        if external_id is not None:
            found[external_id] = Existing(account_id, service_id, amount_minor, kind, period)


def differences(existing: Existing, charge: NewCharge) -> list[str]:
    """How a charge differs from the one already imported under its external id."""
    account_id, service_id, amount_minor, kind, period = existing
    out = []
    if account_id != charge.account_id:
        out.append("account")
    if service_id != charge.service_id:
        out.append("service")
    if amount_minor != charge.amount_minor:
        out.append(f"amount ({format_plain(amount_minor)} there)")
    if kind != charge.kind:
        out.append(f"kind ({kind} there)")
    if period != charge.period:
        out.append(f"period ({period} there)")
    return out


def conflict_error(charge: NewCharge, diff: list[str]) -> RowError:
    return RowError(
        charge.line,
        "external_id_conflict",
        f"{charge.external_id!r} was already imported with another {', '.join(diff)}",
        "external_id",
    )


async def lock_accounts(session: AsyncSession, account_ids: Sequence[int]) -> None:
    """Lock the balance rows in ascending account id (SQLite: the unit already holds the lock)."""
    now = clock.now()
    for part in chunks(sorted(account_ids), _IN_CHUNK):
        locked = set(
            (
                await session.scalars(
                    select(AccountBalance.account_id)
                    .where(AccountBalance.account_id.in_(part))
                    .order_by(AccountBalance.account_id)
                    .with_for_update()
                )
            ).all()
        )
        for account_id in part:
            if account_id not in locked:
                # Every account gets its row when opened; this only heals older data.
                session.add(
                    AccountBalance(
                        account_id=account_id,
                        balance_minor=0,
                        debt_minor=0,
                        entries_count=0,
                        updated_at=now,
                    )
                )
        await session.flush()


async def write_batch(
    session: AsyncSession,
    charges: Sequence[NewCharge],
    *,
    entry_kind: str,
    source: str,
    memo: str,
    actor: Actor,
    audit_action: str,
    audit_object: str,
    check_conflicts: bool = True,
) -> BatchResult:
    """Write ``charges`` in the caller's unit of work. Flushes, never commits.

    ``check_conflicts``: refuse (ChargeConflict) when an external id is already in the ledger
    with another account, service, amount, kind or period; otherwise it just counts as there.
    """
    await session.flush()
    result = BatchResult()
    if not charges:
        return result
    await lock_accounts(session, sorted({c.account_id for c in charges}))
    # Under the locks, a concurrent import of the same file has either committed (and is
    # seen here) or waits for us.
    existing = await existing_items(session, [c.external_id for c in charges])
    if existing:
        if check_conflicts:
            conflicts = [
                conflict_error(c, diff)
                for c in charges
                if c.external_id in existing and (diff := differences(existing[c.external_id], c))
            ]
            if conflicts:
                raise ChargeConflict(conflicts)
        result.already_there = sum(1 for c in charges if c.external_id in existing)
        charges = [c for c in charges if c.external_id not in existing]
    if not charges:
        return result

    settings = get_settings()
    now, today = clock.now(), clock.today(settings.timezone)
    per_account: dict[int, int] = defaultdict(int)
    per_ledger: dict[tuple[int, str], int] = defaultdict(int)
    for c in charges:
        per_account[c.account_id] += c.amount_minor
        per_ledger[(c.account_id, c.ledger)] += c.amount_minor
    accounts = sorted(per_account)

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
                "actor": actor.name[:128],
                "business_date": today,
                "created_at": now,
            }
            for account_id in accounts
        ],
    )
    entry_of = {account_id: entry_id for entry_id, account_id in inserted}

    if is_postgres(session):
        await _copy_items(session, charges, entry_of, settings.currency, now)
    else:
        await _insert_items_sqlite(session, charges, entry_of, settings.currency, now)

    legs: list[dict[str, Any]] = []
    for account_id in accounts:
        entry_id = entry_of[account_id]
        legs.append(
            {
                "entry_id": entry_id,
                "account_id": account_id,
                "ledger": SUBSCRIBER_LEDGER,
                "amount_minor": per_account[account_id],
                "currency": settings.currency,
            }
        )
    for (account_id, ledger), amount in sorted(per_ledger.items()):
        legs.append(
            {
                "entry_id": entry_of[account_id],
                "account_id": account_id,
                "ledger": ledger,
                "amount_minor": -amount,
                "currency": settings.currency,
            }
        )
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

    result.imported = len(charges)
    result.total_minor = sum(per_account.values())
    result.accounts = len(accounts)
    result.allocated_minor = await _allocate_prepaid(session, accounts, entry_of)
    record(
        session,
        actor,
        audit_action,
        object_type="charges",
        object_id=audit_object[:64],
        imported=result.imported,
        already_there=result.already_there,
        total_minor=result.total_minor,
        accounts=result.accounts,
        allocated_minor=result.allocated_minor,
        source=source,
    )
    await session.flush()
    return result


async def _copy_items(
    session: AsyncSession,
    charges: Sequence[NewCharge],
    entry_of: dict[int, int],
    currency: str,
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
            currency,
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
    charges: Sequence[NewCharge],
    entry_of: dict[int, int],
    currency: str,
    now: dt.datetime,
) -> None:
    connection = await session.connection()
    dialect = connection.dialect
    table = OpenItem.__table__
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
            currency,
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
    session: AsyncSession, accounts: Sequence[int], entry_of: dict[int, int]
) -> int:
    """Let money already on the account clear the new charges, oldest due date first."""
    prepaid: list[int] = []
    for part in chunks(accounts, _IN_CHUNK):
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
    allocated = 0
    for part in chunks(sorted(prepaid), _IN_CHUNK):
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
