"""Queries of the court stage: the account's agency stage, its open debits, and the cases."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.ledger.chart import DEBIT
from abonent.models import (
    AssignmentItem,
    CollectionAssignment,
    CourtCase,
    CourtCaseLine,
    CourtStageEvent,
    OpenItem,
    Service,
)
from abonent.models.ledger import still_open


async def went_through_agency(session: AsyncSession, account_id: int) -> bool:
    """Whether any of the account's debt was ever handed to an agency."""
    found = await session.scalar(
        select(CollectionAssignment.id).where(CollectionAssignment.account_id == account_id)
    )
    return found is not None


async def assignments_holding_debt(session: AsyncSession, account_id: int) -> list[int]:
    """The account's assignments an agency still holds open debt in: an active item whose
    charge is still owed (an item paid off leaves nothing with the agency, recalled or not)."""
    found = await session.scalars(
        select(AssignmentItem.assignment_id)
        .join(OpenItem, OpenItem.id == AssignmentItem.open_item_id)
        .where(
            AssignmentItem.active,
            OpenItem.account_id == account_id,
            OpenItem.side == DEBIT,
            still_open(),
        )
        .distinct()
        .order_by(AssignmentItem.assignment_id)
    )
    return list(found)


async def open_debits(
    session: AsyncSession, account_id: int
) -> Sequence[tuple[OpenItem, str | None]]:
    rows = await session.execute(
        select(OpenItem, Service.kind)
        .outerjoin(Service, Service.id == OpenItem.service_id)
        .where(OpenItem.account_id == account_id, OpenItem.side == DEBIT, still_open())
        .order_by(OpenItem.due_date, OpenItem.id)
    )
    return [(item, kind) for item, kind in rows]


async def open_case(
    session: AsyncSession, account_id: int, live: frozenset[str]
) -> CourtCase | None:
    return await session.scalar(
        select(CourtCase)
        .where(CourtCase.account_id == account_id, CourtCase.stage.in_(sorted(live)))
        .order_by(CourtCase.id.desc())
        .limit(1)
    )


async def case(session: AsyncSession, case_id: int, *, lock: bool = False) -> CourtCase | None:
    query = select(CourtCase).where(CourtCase.id == case_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def cases_of(session: AsyncSession, account_id: int) -> Sequence[CourtCase]:
    found = await session.scalars(
        select(CourtCase).where(CourtCase.account_id == account_id).order_by(CourtCase.id)
    )
    return found.all()


async def cases(session: AsyncSession, stage: str | None, limit: int) -> Sequence[CourtCase]:
    query = select(CourtCase).order_by(CourtCase.id.desc()).limit(limit)
    if stage is not None:
        query = query.where(CourtCase.stage == stage)
    return (await session.scalars(query)).all()


async def lines(session: AsyncSession, case_id: int) -> Sequence[CourtCaseLine]:
    found = await session.scalars(
        select(CourtCaseLine)
        .where(CourtCaseLine.case_id == case_id)
        .order_by(CourtCaseLine.due_date, CourtCaseLine.open_item_id)
    )
    return found.all()


async def stages(session: AsyncSession, case_id: int) -> Sequence[CourtStageEvent]:
    found = await session.scalars(
        select(CourtStageEvent)
        .where(CourtStageEvent.case_id == case_id)
        .order_by(CourtStageEvent.id)
    )
    return found.all()
