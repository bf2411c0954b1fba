"""The agency's hand-over file in both formats, read back."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from abonent.collections import service as collections
from abonent.collections.errors import AgencyNotFound, RoleRefused
from abonent.collections.export import (
    HEADER,
    PORTFOLIO_HEADER,
    export_assignment,
    export_portfolio,
)
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.models import Account
from tests.factories import charge, make_account

STAFF = Actor("staff:anna", "collections")


async def _handed(db: Database, export_format: str) -> tuple[int, str]:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        await charge(s, account, 30_000, due=dt.date(2026, 10, 10))
        await charge(s, account, 20_050, due=dt.date(2026, 11, 10))
        agency = await collections.add_agency(
            s, name="Агентство", inn="7707083893", export_format=export_format, actor=STAFF
        )
        fresh = await s.get_one(Account, account.id)
        done = await collections.handover(
            s, fresh, agency.id, actor=STAFF, as_of=dt.date(2026, 11, 18)
        )
        return done.assignment.id, account.number


async def test_csv_with_bom_and_semicolons(db: Database) -> None:
    assignment_id, number = await _handed(db, "csv")
    async with db.session() as s:
        file = await export_assignment(s, assignment_id, actor=STAFF)
    assert file.name.endswith(f"-{assignment_id}.csv")
    assert file.content.startswith(b"\xef\xbb\xbf")
    assert file.content.decode("utf-8-sig").split("\r\n") == [
        ";".join(HEADER),
        f"{number};;10.10.2026;300.00;300.00",
        f"{number};;10.11.2026;200.50;200.50",
        "",
    ]


async def test_xlsx_read_back(db: Database) -> None:
    assignment_id, number = await _handed(db, "xlsx")
    async with db.session() as s:
        file = await export_assignment(s, assignment_id, actor=STAFF)
    sheet = load_workbook(io.BytesIO(file.content)).active
    assert sheet is not None
    assert [tuple(r) for r in sheet.iter_rows(values_only=True)] == [
        HEADER,
        (number, None, "10.10.2026", "300.00", "300.00"),
        (number, None, "10.11.2026", "200.50", "200.50"),
    ]


async def test_the_agencys_portfolio_lists_what_is_with_it_now(db: Database) -> None:
    kept, number = await _handed(db, "xlsx")
    async with db.session(write=True) as s:
        other, _ = await make_account(s)
        await charge(s, other, 12_345, due=dt.date(2026, 9, 1))
        recalled = await collections.handover(
            s, await s.get_one(Account, other.id), 1, actor=STAFF, as_of=dt.date(2026, 11, 20)
        )
        await collections.recall(
            s, recalled.assignment.id, actor=STAFF, as_of=dt.date(2026, 11, 25)
        )
    async with db.session() as s:
        portfolio = await export_portfolio(s, 1, actor=STAFF, as_of=dt.date(2026, 12, 1))
    assert (portfolio.assignments, portfolio.items, portfolio.amount_minor) == (1, 2, 50_050)
    assert portfolio.file.name == "portfolio-1-20261201.xlsx"
    sheet = load_workbook(io.BytesIO(portfolio.file.content)).active
    assert sheet is not None
    assert [tuple(r) for r in sheet.iter_rows(values_only=True)] == [
        PORTFOLIO_HEADER,
        (str(kept), "18.11.2026", number, None, "10.10.2026", "300.00", "300.00"),
        (str(kept), "18.11.2026", number, None, "10.11.2026", "200.50", "200.50"),
    ]


async def test_a_portfolio_of_no_agency_or_for_a_role_without_access_is_refused(
    db: Database,
) -> None:
    await _handed(db, "csv")
    async with db.session() as s:
        with pytest.raises(AgencyNotFound):
            await export_portfolio(s, 99, actor=STAFF, as_of=dt.date(2026, 12, 1))
        with pytest.raises(RoleRefused):
            await export_portfolio(
                s, 1, actor=Actor("staff:ivan", "clerk"), as_of=dt.date(2026, 12, 1)
            )
