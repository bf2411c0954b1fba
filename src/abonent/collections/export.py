"""The files an agency receives: CSV (UTF-8 with BOM, ``;``) or XLSX (openpyxl), in the format
set on the agency. One assignment's hand-over, or the agency's whole portfolio (every debt with
it now, one file a day for its systems).

Money in the machine form of every file we exchange (``1050.00``, kit/money.format_plain),
dates as dd.mm.yyyy.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.collections.errors import AgencyNotFound, AssignmentNotFound
from abonent.collections.roles import require
from abonent.kit.actor import Actor
from abonent.kit.money import format_plain
from abonent.models import Account, AssignmentItem, CollectionAgency, CollectionAssignment, OpenItem

HEADER = ("Договор (лицевой счёт)", "Период", "Срок оплаты", "Начислено", "Долг при передаче")
PORTFOLIO_HEADER = ("№ передачи", "Дата передачи", *HEADER)


@dataclass(frozen=True, slots=True)
class ExportFile:
    name: str
    media_type: str
    content: bytes


async def _rows(session: AsyncSession, assignment_ids: list[int]) -> list[tuple[str, ...]]:
    """(assignment, handed over on, *HEADER's columns) of every item of the assignments."""
    if not assignment_ids:
        return []
    result = await session.execute(
        select(
            CollectionAssignment.id,
            CollectionAssignment.handed_over_on,
            Account.number,
            OpenItem.period,
            OpenItem.due_date,
            OpenItem.amount_minor,
            AssignmentItem.amount_minor,
        )
        .join(CollectionAssignment, CollectionAssignment.id == AssignmentItem.assignment_id)
        .join(OpenItem, OpenItem.id == AssignmentItem.open_item_id)
        .join(Account, Account.id == OpenItem.account_id)
        .where(AssignmentItem.assignment_id.in_(assignment_ids))
        .order_by(AssignmentItem.assignment_id, AssignmentItem.id)
    )
    return [
        (
            str(assignment),
            f"{handed_on:%d.%m.%Y}",
            number,
            period or "",
            f"{due:%d.%m.%Y}",
            format_plain(amount),
            format_plain(handed),
        )
        for assignment, handed_on, number, period, due, amount, handed in result
    ]


def _file(
    stem: str, export_format: str, header: tuple[str, ...], rows: list[tuple[str, ...]]
) -> ExportFile:
    if export_format == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "Передача"
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return ExportFile(
            f"{stem}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            out.getvalue(),
        )
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ExportFile(f"{stem}.csv", "text/csv; charset=utf-8", text.getvalue().encode("utf-8-sig"))


async def export_assignment(
    session: AsyncSession, assignment_id: int, *, actor: Actor
) -> ExportFile:
    """The file of one assignment in its agency's format."""
    require(actor, "collections.read")
    assignment = await session.get(CollectionAssignment, assignment_id)
    if assignment is None:
        raise AssignmentNotFound(f"no assignment {assignment_id}")
    agency = await session.get_one(CollectionAgency, assignment.agency_id)
    rows = [row[2:] for row in await _rows(session, [assignment_id])]
    return _file(f"handover-{agency.id}-{assignment.id}", agency.export_format, HEADER, rows)


@dataclass(frozen=True, slots=True)
class Portfolio:
    file: ExportFile
    assignments: int
    items: int
    amount_minor: int
    """The debt as handed over, summed over the file's lines."""


async def export_portfolio(
    session: AsyncSession, agency_id: int, *, actor: Actor, as_of: dt.date
) -> Portfolio:
    """The agency's portfolio on ``as_of``: every assignment with it now (recalled ones are
    not), each item with its debt at hand-over, in the agency's format. An agency with none
    gets a file of the header alone."""
    require(actor, "collections.read")
    agency = await session.get(CollectionAgency, agency_id)
    if agency is None:
        raise AgencyNotFound(f"no agency {agency_id}")
    ids = list(
        await session.scalars(
            select(CollectionAssignment.id)
            .where(
                CollectionAssignment.agency_id == agency_id,
                CollectionAssignment.status == "active",
            )
            .order_by(CollectionAssignment.id)
        )
    )
    rows = await _rows(session, ids)
    amounts = (
        await session.scalar(
            select(func.coalesce(func.sum(AssignmentItem.amount_minor), 0)).where(
                AssignmentItem.assignment_id.in_(ids)
            )
        )
        if ids
        else 0
    )
    file = _file(
        f"portfolio-{agency.id}-{as_of:%Y%m%d}", agency.export_format, PORTFOLIO_HEADER, rows
    )
    return Portfolio(file, len(ids), len(rows), int(amounts or 0))
