"""Statement of account for a period, as CSV and PDF, from the account's ledger history.

The subscriber legs of the journal are the history: a debit leg (positive) is a charge that raises
the debt, a credit leg (negative) a payment. The balance is minus their running sum, so the
opening balance plus the period's movements always equals the closing balance.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit.errors import InvalidInput
from abonent.kit.money import format_money, format_plain
from abonent.kit.numbers import mask_account_number
from abonent.kit.pdf import Column, Document
from abonent.models import Account
from abonent.statement import repository as repo

MAX_PERIOD_DAYS = 3 * 366
"""A statement longer than three years is a court file, not a self-service download."""

KIND_NAMES = {
    "charge": "Начисление",
    "fee": "Плата",
    "payment": "Платёж",
    "reversal": "Сторно",
}


@dataclass(frozen=True, slots=True)
class Line:
    day: dt.date
    entry_id: int
    kind: str
    memo: str
    charged_minor: int
    paid_minor: int
    balance_minor: int
    """The balance after this line (positive: money on the account; negative: debt)."""


@dataclass(frozen=True, slots=True)
class PeriodStatement:
    number: str
    currency: str
    start: dt.date
    end: dt.date
    opening_minor: int
    closing_minor: int
    charged_minor: int
    paid_minor: int
    lines: tuple[Line, ...]


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise InvalidInput("period: the end is before the start", code="period_reversed")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput("period: at most three years", code="period_too_long")


async def period_statement(
    session: AsyncSession, account: Account, start: dt.date, end: dt.date
) -> PeriodStatement:
    check_period(start, end)
    balance = -await repo.subscriber_total_before(session, account.id, start)
    opening = balance
    lines: list[Line] = []
    charged = paid = 0
    for day, entry_id, kind, memo, amount in await repo.subscriber_legs_between(
        session, account.id, start, end
    ):
        amount = int(amount)
        balance -= amount
        charge, payment = (amount, 0) if amount > 0 else (0, -amount)
        charged += charge
        paid += payment
        lines.append(Line(day, int(entry_id), str(kind), str(memo or ""), charge, payment, balance))
    return PeriodStatement(
        number=account.number,
        currency=account.currency,
        start=start,
        end=end,
        opening_minor=opening,
        closing_minor=balance,
        charged_minor=charged,
        paid_minor=paid,
        lines=tuple(lines),
    )


def _kind(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


def to_csv(statement: PeriodStatement) -> bytes:
    """UTF-8 with a BOM and ';' so that Excel in a Russian locale opens it as columns."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Дата", "Операция", "Описание", "Начислено", "Оплачено", "Баланс"])
    writer.writerow(
        [
            f"{statement.start:%d.%m.%Y}",
            "Входящий остаток",
            "",
            "",
            "",
            format_plain(statement.opening_minor),
        ]
    )
    for line in statement.lines:
        writer.writerow(
            [
                f"{line.day:%d.%m.%Y}",
                _kind(line.kind),
                line.memo,
                format_plain(line.charged_minor) if line.charged_minor else "",
                format_plain(line.paid_minor) if line.paid_minor else "",
                format_plain(line.balance_minor),
            ]
        )
    writer.writerow(
        [
            f"{statement.end:%d.%m.%Y}",
            "Исходящий остаток",
            "",
            format_plain(statement.charged_minor),
            format_plain(statement.paid_minor),
            format_plain(statement.closing_minor),
        ]
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_pdf(statement: PeriodStatement) -> bytes:
    money = statement.currency
    doc = Document("Выписка по лицевому счёту")
    doc.line(f"Лицевой счёт {mask_account_number(statement.number)}")
    doc.line(f"Период: {statement.start:%d.%m.%Y} — {statement.end:%d.%m.%Y}")
    doc.line(f"Входящий остаток: {format_money(statement.opening_minor, money)}")
    doc.gap()
    columns = [
        Column("Дата", 22),
        Column("Операция", 28),
        Column("Описание", 58),
        Column("Начислено", 27, "R"),
        Column("Оплачено", 27, "R"),
        Column("Баланс", 28, "R"),
    ]
    rows = [
        [
            f"{line.day:%d.%m.%Y}",
            _kind(line.kind),
            line.memo[:32],
            format_money(line.charged_minor, money) if line.charged_minor else "",
            format_money(line.paid_minor, money) if line.paid_minor else "",
            format_money(line.balance_minor, money),
        ]
        for line in statement.lines
    ]
    doc.table(columns, rows)
    doc.line(f"Начислено за период: {format_money(statement.charged_minor, money)}")
    doc.line(f"Оплачено за период: {format_money(statement.paid_minor, money)}")
    doc.line(f"Исходящий остаток: {format_money(statement.closing_minor, money)}", bold=True)
    return doc.bytes()
