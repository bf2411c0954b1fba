"""Queries and set-based writes of the dunning ladder. No rules here: the service decides.

The nightly run reads and writes a range of accounts at a time, each in a few statements over
the partial index of open items (``ix_open_items_open``), so its cost grows with the accounts,
not with anything per row in Python beyond the items in debt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.bulk import id_filters, insert_records
from abonent.ledger.chart import DEBIT
from abonent.models import (
    Account,
    CollectionAgency,
    DunningItem,
    DunningLadder,
    DunningProgress,
    DunningStep,
    OpenItem,
    PromisedPayment,
    Service,
    ServiceStatusChange,
)
from abonent.models.ledger import still_open

_NO_SYNC = {"synchronize_session": False}


async def latest_ladder(session: AsyncSession) -> DunningLadder | None:
    return await session.scalar(select(DunningLadder).order_by(DunningLadder.id.desc()).limit(1))


async def get_ladder(session: AsyncSession, ladder_id: int) -> DunningLadder | None:
    return await session.get(DunningLadder, ladder_id)


async def steps_of(session: AsyncSession, ladder_ids: Sequence[int]) -> list[DunningStep]:
    if not ladder_ids:
        return []
    return list(
        await session.scalars(
            select(DunningStep)
            .where(DunningStep.ladder_id.in_(list(ladder_ids)))
            .order_by(DunningStep.ladder_id, DunningStep.id)
        )
    )


async def all_ladder_ids(session: AsyncSession) -> list[int]:
    return list(await session.scalars(select(DunningLadder.id).order_by(DunningLadder.id)))


async def add_ladder(
    session: AsyncSession,
    *,
    name: str,
    source: str,
    actor: str,
    at: dt.datetime,
    rows: Sequence[dict[str, Any]],
) -> DunningLadder:
    ladder = DunningLadder(name=name, source=source[:255], actor=actor[:128], loaded_at=at)
    session.add(ladder)
    await session.flush()
    await session.execute(insert(DunningStep), [{**r, "ladder_id": ladder.id} for r in rows])
    return ladder


async def account_id_bounds(session: AsyncSession) -> tuple[int, int] | None:
    row = (await session.execute(select(func.min(Account.id), func.max(Account.id)))).one()
    if row[0] is None:
        return None
    return int(row[0]), int(row[1])


@dataclass(frozen=True, slots=True)
class Candidate:
    item_id: int
    account_id: int
    service_id: int | None
    kind: str | None
    service_status: str | None
    due_date: dt.date
    remaining_minor: int
    disputed: bool
    ladder_id: int | None
    """The ladder version the item started on; None when it is not on the ladder yet."""


async def candidates(session: AsyncSession, lo: int, hi: int, due_by: dt.date) -> list[Candidate]:
    """Open debit items of accounts ``lo <= id < hi`` due by ``due_by``, with their service and
    the ladder version they are on."""
    rows = await session.execute(
        select(
            OpenItem.id,
            OpenItem.account_id,
            OpenItem.service_id,
            Service.kind,
            Service.status,
            OpenItem.due_date,
            OpenItem.remaining_minor,
            OpenItem.disputed,
            DunningItem.ladder_id,
        )
        .outerjoin(Service, Service.id == OpenItem.service_id)
        .outerjoin(DunningItem, DunningItem.open_item_id == OpenItem.id)
        .where(
            OpenItem.account_id >= lo,
            OpenItem.account_id < hi,
            OpenItem.side == literal_column(f"'{DEBIT}'"),
            still_open(),
            OpenItem.due_date <= due_by,
        )
        .order_by(OpenItem.account_id, OpenItem.id)
    )
    return [Candidate(*row) for row in rows]


async def done_steps(session: AsyncSession, lo: int, hi: int) -> set[tuple[int, str]]:
    """(open item, step) already done for the open items of accounts ``lo <= id < hi``."""
    rows = await session.execute(
        select(DunningProgress.open_item_id, DunningProgress.step)
        .join(OpenItem, OpenItem.id == DunningProgress.open_item_id)
        .where(
            DunningProgress.account_id >= lo,
            DunningProgress.account_id < hi,
            still_open(),
        )
    )
    return {(int(i), str(s)) for i, s in rows}


async def promised_in_force(session: AsyncSession, lo: int, hi: int, on: dt.date) -> set[int]:
    """Accounts ``lo <= id < hi`` with a promised payment in force whose term covers ``on``."""
    rows = await session.scalars(
        select(PromisedPayment.account_id).where(
            PromisedPayment.status == literal_column("'in_force'"),
            PromisedPayment.account_id >= lo,
            PromisedPayment.account_id < hi,
            PromisedPayment.due_date >= on,
        )
    )
    return set(rows)


async def start_items(
    session: AsyncSession, records: Sequence[tuple[int, int, int]], *, started_on: dt.date
) -> None:
    """Put open items on the ladder: (open item, account, ladder version) each."""
    await insert_records(
        session,
        DunningItem.__table__,
        ("open_item_id", "account_id", "ladder_id"),
        records,
        same={"started_on": started_on},
    )


ProgressRecord = tuple[int, int, int, str, str, str]
"""A step done: (open item, account, ladder version, step, action, outcome)."""
_PROGRESS_COLUMNS = ("open_item_id", "account_id", "ladder_id", "step", "action", "outcome")


async def insert_progress(
    session: AsyncSession,
    records: Sequence[ProgressRecord],
    *,
    run_date: dt.date,
    at: dt.datetime,
) -> None:
    await insert_records(
        session,
        DunningProgress.__table__,
        _PROGRESS_COLUMNS,
        records,
        same={"run_date": run_date, "created_at": at},
    )


@dataclass(frozen=True, slots=True)
class Suspended:
    service_id: int
    account_id: int
    kind: str
    label: str
    account_number: str


async def suspend_for_debt(
    session: AsyncSession, service_ids: Sequence[int], *, reason: str, actor: str, at: dt.datetime
) -> list[Suspended]:
    """Suspend for debt those of the services that are active, with their history rows; return
    what was suspended, with the account's number."""
    changed: list[Any] = []
    for among in id_filters(session, Service.id, sorted(service_ids)):
        changed += (
            await session.execute(
                update(Service)
                .where(among, Service.status == "active")
                .values(status="suspended", suspended_reason="debt")
                .returning(Service.id, Service.account_id, Service.kind, Service.label)
                .execution_options(**_NO_SYNC)
            )
        ).all()
    if not changed:
        return []
    numbers: dict[int, str] = {}
    for among in id_filters(session, Account.id, sorted({row[1] for row in changed})):
        numbers.update(
            (await session.execute(select(Account.id, Account.number).where(among))).all()
        )
    await insert_records(
        session,
        ServiceStatusChange.__table__,
        ("service_id", "account_id"),
        [(row[0], row[1]) for row in changed],
        same={
            "from_status": "active",
            "to_status": "suspended",
            "reason": reason,
            "actor": actor,
            "at": at,
        },
    )
    return sorted(
        (
            Suspended(int(sid), int(aid), kind, label, numbers[aid])
            for sid, aid, kind, label in changed
        ),
        key=lambda s: s.service_id,
    )


async def agency_id(session: AsyncSession, inn: str | None) -> int | None:
    """The agency of that INN, or with no INN the agency of lowest id; None when there is none."""
    query = select(CollectionAgency.id)
    if inn is not None:
        query = query.where(CollectionAgency.inn == inn)
    return await session.scalar(query.order_by(CollectionAgency.id).limit(1))


async def account(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def progress_of_account(session: AsyncSession, account_id: int) -> list[DunningProgress]:
    return list(
        await session.scalars(
            select(DunningProgress)
            .where(DunningProgress.account_id == account_id)
            .order_by(DunningProgress.open_item_id, DunningProgress.id)
        )
    )
