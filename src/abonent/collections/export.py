"""The hand-over file an agency receives: CSV (UTF-8 with BOM, ``;``) or XLSX (openpyxl).

Money in the machine form of every file we exchange (``1050.00``, kit/money.format_plain),
dates as dd.mm.yyyy.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.collections.errors import AssignmentNotFound
from abonent.collections.roles import require
from abonent.kit.actor import Actor
from abonent.kit.money import format_plain
from abonent.models import Account, AssignmentItem, CollectionAgency, CollectionAssignment, OpenItem

HEADER = ("Договор (лицевой счёт)", "Период", "Срок оплаты", "Начислено", "Долг при передаче")


@dataclass(frozen=True, slots=True)
class ExportFile:
    name: str
    media_type: str
    content: bytes


async def _rows(session: AsyncSession, assignment_id: int) -> list[tuple[str, ...]]:
    result = await session.execute(
        select(
            Account.number,
            OpenItem.period,
            OpenItem.due_date,
            OpenItem.amount_minor,
            AssignmentItem.amount_minor,
        )
        .join(OpenItem, OpenItem.id == AssignmentItem.open_item_id)
        .join(Account, Account.id == OpenItem.account_id)
        .where(AssignmentItem.assignment_id == assignment_id)
        .order_by(AssignmentItem.id)
    )
    return [
        (number, period or "", f"{due:%d.%m.%Y}", format_plain(amount), format_plain(handed))
        for number, period, due, amount, handed in result
    ]


async def export_assignment(
    session: AsyncSession, assignment_id: int, *, actor: Actor
) -> ExportFile:
    """The file of one assignment in its agency's format."""
    require(actor, "collections.read")
    assignment = await session.get(CollectionAssignment, assignment_id)
    if assignment is None:
        raise AssignmentNotFound(f"no assignment {assignment_id}")
    agency = await session.get_one(CollectionAgency, assignment.agency_id)
    rows = await _rows(session, assignment_id)
    stem = f"handover-{agency.id}-{assignment.id}"
    if agency.export_format == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "Передача"
        sheet.append(HEADER)
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
    writer.writerow(HEADER)
    writer.writerows(rows)
    return ExportFile(f"{stem}.csv", "text/csv; charset=utf-8", text.getvalue().encode("utf-8-sig"))
