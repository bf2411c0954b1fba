"""The period statement: CSV (BOM, ';') and a real PDF read back with pypdf, against the ledger."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from pypdf import PdfReader

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.kit.errors import InvalidInput
from abonent.ledger.chart import clearing_ledger
from abonent.ledger.service import post_credit
from abonent.statement import export
from tests.factories import charge, make_account

START, END = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


async def _history(db: Database) -> str:
    async with db.session(write=True) as session:
        account, services = await make_account(session, kinds=("mobile",))
        await post_credit(
            session,
            account_id=account.id,
            amount_minor=50_000,
            counter_ledger=clearing_ledger("test"),
            description="Предоплата",
            business_date=dt.date(2026, 10, 1),
        )
        await charge(session, account, 105_000, due=dt.date(2026, 12, 15), service=services[0])
        await post_credit(
            session,
            account_id=account.id,
            amount_minor=30_000,
            counter_ledger=clearing_ledger("test"),
            description="Оплата картой",
        )
        await session.commit()
        return account.number


async def _statement(db: Database, number: str) -> export.PeriodStatement:
    from abonent.accounts import repository as accounts_repo

    async with db.session() as session:
        account = await accounts_repo.by_number(session, number)
        assert account is not None
        return await export.period_statement(session, account, START, END)


async def test_period_statement_from_ledger(db: Database, clock: FrozenClock) -> None:
    statement = await _statement(db, await _history(db))
    assert statement.opening_minor == 50_000
    assert [(x.kind, x.charged_minor, x.paid_minor, x.balance_minor) for x in statement.lines] == [
        ("charge", 105_000, 0, -55_000),
        ("payment", 0, 30_000, -25_000),
    ]
    assert statement.closing_minor == -25_000
    assert (statement.charged_minor, statement.paid_minor) == (105_000, 30_000)


async def test_csv_opens_in_excel_form(db: Database, clock: FrozenClock) -> None:
    data = export.to_csv(await _statement(db, await _history(db)))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["Дата", "Операция", "Описание", "Начислено", "Оплачено", "Баланс"],
        ["01.11.2026", "Входящий остаток", "", "", "", "500.00"],
        ["18.11.2026", "Начисление", "test charge", "1050.00", "", "-550.00"],
        ["18.11.2026", "Платёж", "Оплата картой", "", "300.00", "-250.00"],
        ["30.11.2026", "Исходящий остаток", "", "1050.00", "300.00", "-250.00"],
    ]


async def test_pdf_reads_back(db: Database, clock: FrozenClock) -> None:
    number = await _history(db)
    reader = PdfReader(io.BytesIO(export.to_pdf(await _statement(db, number))))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Выписка по лицевому счёту" in text
    assert "Период: 01.11.2026 — 30.11.2026" in text
    assert "Входящий остаток: 500,00 ₽".replace(" ", "\u00a0") in text.replace(" ", "\u00a0")
    assert "-550,00 ₽".replace(" ", "\u00a0") in text.replace(" ", "\u00a0")
    assert "Исходящий остаток: -250,00 ₽".replace(" ", "\u00a0") in text.replace(" ", "\u00a0")
    assert number not in text  # masked: the full number is not printed


def test_bad_periods_refused() -> None:
    with pytest.raises(InvalidInput) as reversed_:
        export.check_period(END, START)
    assert reversed_.value.code == "period_reversed"
    with pytest.raises(InvalidInput) as long_:
        export.check_period(dt.date(2020, 1, 1), dt.date(2026, 1, 1))
    assert long_.value.code == "period_too_long"
