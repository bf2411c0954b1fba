"""Cells a rating file may not carry: control characters (NUL is a 500 on PostgreSQL, the rest
would be stripped into something the rating system did not send) and dates out of range. Each is
refused with its line and column, and the file changes nothing."""

from __future__ import annotations

import pytest

from abonent.charges.errors import ChargeFileInvalid
from abonent.charges.service import import_charges
from abonent.db.uow import Database
from tests.charges.helpers import ACTOR, HEADER, csv_text, snapshot
from tests.factories import make_account

COLUMNS = HEADER.split(",")


async def _row(db: Database) -> dict[str, str]:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s, kinds=("mobile",))
    return {
        "external_id": "c1",
        "account_number": account.number,
        "service": sim.msisdn or "",
        "amount": "10.00",
        "kind": "usage",
        "period": "2026-10",
        "charged_on": "2026-10-31",
        "due_date": "",
        "description": "calls",
    }


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("char", ["\x00", "\x1f", "\x0b", "\x85", "\r"])
async def test_a_control_character_in_any_cell_is_refused_at_its_line(
    db: Database, clock, column: str, char: str
) -> None:
    good = await _row(db)
    bad = {**good, "external_id": "c2", column: good[column] + char}
    # A quoted cell may hold anything csv can carry, \r included: that is what is refused.
    cells = [f'"{v}"' if char in v else v for v in bad.values()]
    text = csv_text([list(good.values()), cells])
    async with db.session() as s:
        before = await snapshot(s)
    with pytest.raises(ChargeFileInvalid) as refused:
        await import_charges(db, text, name="bad.csv", actor=ACTOR)
    assert [(e.line, e.field, e.code) for e in refused.value.errors] == [
        (3, column, "control_character")
    ]
    async with db.session() as s:
        assert await snapshot(s) == before


async def test_a_newline_inside_a_quoted_cell_is_refused(db: Database, clock) -> None:
    good = await _row(db)
    text = csv_text([list(good.values())]) + (
        f'c2,{good["account_number"]},,10.00,usage,2026-10,2026-10-31,,"two\nlines"\n'
    )
    with pytest.raises(ChargeFileInvalid) as refused:
        await import_charges(db, text, name="bad.csv", actor=ACTOR)
    assert [(e.line, e.field, e.code) for e in refused.value.errors] == [
        (3, "description", "control_character")
    ]


@pytest.mark.parametrize("value", ["1999-12-31", "0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("column", ["charged_on", "due_date"])
async def test_dates_out_of_range_are_refused(db: Database, clock, column: str, value: str) -> None:
    good = await _row(db)
    bad = {**good, column: value}
    async with db.session() as s:
        before = await snapshot(s)
    with pytest.raises(ChargeFileInvalid) as refused:
        await import_charges(db, csv_text([list(bad.values())]), name="d.csv", actor=ACTOR)
    assert (refused.value.errors[0].line, refused.value.errors[0].field) == (2, column)
    async with db.session() as s:
        assert await snapshot(s) == before
