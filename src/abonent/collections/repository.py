"""Queries of collections: what an agency's agent collected and its assignments, the
dashboards' series, and the write-off requests with what they cover."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import case, distinct, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.ledger.chart import DEBIT
from abonent.models import (
    Account,
    Allocation,
    AssignmentItem,
    AuditEvent,
    CollectionAgency,
    CollectionAssignment,
    DunningProgress,
    OpenItem,
    Payment,
    PaymentAgent,
    Service,
    WriteOffRequest,
)
from abonent.models.ledger import still_open


async def agency_of_agent(session: AsyncSession, agent_id: int) -> CollectionAgency | None:
    return await session.scalar(
        select(CollectionAgency).where(CollectionAgency.agent_id == agent_id)
    )


async def agent_has_payments(session: AsyncSession, agent_id: int) -> bool:
    found = await session.scalar(select(Payment.id).where(Payment.agent_id == agent_id).limit(1))
    return found is not None


async def collected(
    session: AsyncSession, agent_id: int, start: dt.datetime, end: dt.datetime
) -> Sequence[tuple[Payment, str]]:
    """The agent's payments booked in [start, end), reversed ones included (the caller decides),
    with the account number."""
    rows = await session.execute(
        select(Payment, Account.number)
        .join(Account, Account.id == Payment.account_id)
        .where(Payment.agent_id == agent_id, Payment.created_at >= start, Payment.created_at < end)
        .order_by(Payment.created_at, Payment.id)
    )
    return [(payment, number) for payment, number in rows]


async def assignments(
    session: AsyncSession, agency_id: int, account_ids: Sequence[int]
) -> Sequence[CollectionAssignment]:
    if not account_ids:
        return []
    found = await session.scalars(
        select(CollectionAssignment).where(
            CollectionAssignment.agency_id == agency_id,
            CollectionAssignment.account_id.in_(sorted(set(account_ids))),
        )
    )
    return found.all()


# --- the dashboards' series: one aggregate statement each, whatever the number of accounts ----


async def debt_by_age(
    session: AsyncSession, today: dt.date, bounds: Sequence[int]
) -> Sequence[tuple[int, int, int]]:
    """(bucket, kopecks, items) of the open debits: bucket 0 is not yet due, bucket k (1-based)
    is overdue by at most ``bounds[k-1]`` days, the last one beyond every bound."""
    whens = [(OpenItem.due_date >= today, literal(0))]
    whens += [
        (OpenItem.due_date >= today - dt.timedelta(days=days), literal(index))
        for index, days in enumerate(bounds, start=1)
    ]
    bucket = case(*whens, else_=literal(len(bounds) + 1))
    rows = await session.execute(
        select(bucket, func.sum(OpenItem.remaining_minor), func.count())
        .where(OpenItem.side == DEBIT, still_open())
        .group_by(bucket)
    )
    return [(int(b), int(s or 0), int(n)) for b, s, n in rows]


async def debt_by_service_kind(session: AsyncSession) -> Sequence[tuple[str, int, int]]:
    kind = func.coalesce(Service.kind, literal("account"))
    rows = await session.execute(
        select(kind, func.sum(OpenItem.remaining_minor), func.count(distinct(OpenItem.account_id)))
        .select_from(OpenItem)
        .outerjoin(Service, Service.id == OpenItem.service_id)
        .where(OpenItem.side == DEBIT, still_open())
        .group_by(kind)
    )
    return [(str(k), int(s or 0), int(n)) for k, s, n in rows]


async def collected_by_channel(
    session: AsyncSession, since: dt.datetime, until: dt.datetime
) -> Sequence[tuple[str, str | None, int, int]]:
    """(method, agent kind, kopecks, payments) booked in [since, until), reversals left out."""
    rows = await session.execute(
        select(Payment.method, PaymentAgent.kind, func.sum(Payment.amount_minor), func.count())
        .outerjoin(PaymentAgent, PaymentAgent.id == Payment.agent_id)
        .where(
            Payment.created_at >= since,
            Payment.created_at < until,
            Payment.status != literal("reversed"),
        )
        .group_by(Payment.method, PaymentAgent.kind)
    )
    return [(str(m), k, int(s or 0), int(n)) for m, k, s, n in rows]


async def agency_portfolios(session: AsyncSession) -> Sequence[tuple[str, int, int, int]]:
    """(agency, accounts held, kopecks at hand-over, kopecks still owed) of active assignments."""
    held = (
        select(
            CollectionAssignment.agency_id.label("agency_id"),
            func.count(distinct(CollectionAssignment.account_id)).label("accounts"),
            func.sum(CollectionAssignment.amount_minor).label("handed"),
        )
        .where(CollectionAssignment.status == literal("active"))
        .group_by(CollectionAssignment.agency_id)
        .subquery()
    )
    owed = (
        select(
            CollectionAssignment.agency_id.label("agency_id"),
            func.sum(OpenItem.remaining_minor).label("owed"),
        )
        .join(AssignmentItem, AssignmentItem.assignment_id == CollectionAssignment.id)
        .join(OpenItem, OpenItem.id == AssignmentItem.open_item_id)
        .where(CollectionAssignment.status == literal("active"), AssignmentItem.active)
        .group_by(CollectionAssignment.agency_id)
        .subquery()
    )
    rows = await session.execute(
        select(CollectionAgency.name, held.c.accounts, held.c.handed, owed.c.owed)
        .join(held, held.c.agency_id == CollectionAgency.id)
        .outerjoin(owed, owed.c.agency_id == CollectionAgency.id)
        .order_by(CollectionAgency.name, CollectionAgency.id)
    )
    return [(str(a), int(n), int(h or 0), int(o or 0)) for a, n, h, o in rows]


async def debt_by_ladder_step(
    session: AsyncSession, ranks: dict[str, int]
) -> Sequence[tuple[int, int, int]]:
    """(rank of the furthest action reached, kopecks, items) of the open debits the ladder has
    touched; ``ranks`` orders the actions. A superseded notice counts as not reached."""
    rank = case(
        *[(DunningProgress.action == literal(a), literal(r)) for a, r in ranks.items()],
        else_=literal(0),
    )
    furthest = (
        select(DunningProgress.open_item_id.label("item"), func.max(rank).label("rank"))
        .where(DunningProgress.outcome != literal("superseded"))
        .group_by(DunningProgress.open_item_id)
        .subquery()
    )
    rows = await session.execute(
        select(furthest.c.rank, func.sum(OpenItem.remaining_minor), func.count())
        .join(OpenItem, OpenItem.id == furthest.c.item)
        .where(OpenItem.side == DEBIT, still_open())
        .group_by(furthest.c.rank)
    )
    return [(int(r), int(s or 0), int(n)) for r, s, n in rows]


# --- write-off requests ----------------------------------------------------------------------


async def lock_write_off(session: AsyncSession, request_id: int) -> WriteOffRequest | None:
    """The request read afresh with its row locked (``FOR UPDATE`` on PostgreSQL; SQLite's
    write unit is the only writer already)."""
    found: WriteOffRequest | None = await session.scalar(
        select(WriteOffRequest)
        .where(WriteOffRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return found


async def write_off_requests(
    session: AsyncSession, *, status: str | None, limit: int
) -> Sequence[tuple[WriteOffRequest, Account]]:
    """Requests with their accounts. Those awaiting a decision come oldest first (a queue:
    the longest waiting is decided first); decided ones, and all of them together, newest
    first."""
    query = select(WriteOffRequest, Account).join(Account, Account.id == WriteOffRequest.account_id)
    if status is not None:
        query = query.where(WriteOffRequest.status == status)
    order = WriteOffRequest.id.asc() if status == "requested" else WriteOffRequest.id.desc()
    rows = await session.execute(query.order_by(order).limit(limit))
    return [(request, account) for request, account in rows]


async def write_off_request(
    session: AsyncSession, request_id: int
) -> tuple[WriteOffRequest, Account] | None:
    row = (
        await session.execute(
            select(WriteOffRequest, Account)
            .join(Account, Account.id == WriteOffRequest.account_id)
            .where(WriteOffRequest.id == request_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def write_off_rejections(
    session: AsyncSession, requests: Sequence[WriteOffRequest]
) -> dict[int, AuditEvent]:
    """The ``write_off.reject`` audit event of each rejected request: who, when and why (the
    request's table has no columns for them). Narrowed by account first, which is indexed."""
    rejected = [r for r in requests if r.status == "rejected"]
    if not rejected:
        return {}
    events = await session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.account_id.in_(sorted({r.account_id for r in rejected})),
            AuditEvent.object_type == literal("write_off"),
            AuditEvent.action == literal("write_off.reject"),
            AuditEvent.object_id.in_(sorted(str(r.id) for r in rejected)),
        )
        .order_by(AuditEvent.id)
    )
    return {int(e.object_id): e for e in events}


async def written_off_items(
    session: AsyncSession, entry_ids: Sequence[int]
) -> Sequence[tuple[int, OpenItem, int]]:
    """(write-off entry, debit item, kopecks it cleared) of each approved write-off."""
    if not entry_ids:
        return []
    rows = await session.execute(
        select(Allocation.entry_id, OpenItem, Allocation.amount_minor)
        .join(OpenItem, OpenItem.id == Allocation.debit_item_id)
        .where(Allocation.entry_id.in_(sorted(set(entry_ids))))
        .order_by(OpenItem.due_date, OpenItem.id)
    )
    return [(int(e), item, int(amount)) for e, item, amount in rows]


async def service_kinds(session: AsyncSession, service_ids: Sequence[int]) -> dict[int, str]:
    if not service_ids:
        return {}
    rows = await session.execute(
        select(Service.id, Service.kind).where(Service.id.in_(sorted(set(service_ids))))
    )
    return {int(i): str(k) for i, k in rows}
