"""The ledger's bulk path has two implementations: PostgreSQL ``COPY`` and SQLite
``executemany``. The same import into each must write the same rows.

Both databases get the same accounts (one with prepaid money, so the allocation runs) and the
same file; every row money touches is then read back with its generated keys (ids, account
numbers, MSISDNs) replaced by what they stand for, and the two dumps compared whole.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from abonent.charges.service import import_charges
from abonent.db.uow import Database
from abonent.models import AccountBalance, Allocation, JournalEntry, OpenItem, Posting
from tests.charges.helpers import csv_text
from tests.factories import ACTOR, make_account, pay

pytestmark = pytest.mark.postgres_only

# (account, service index or None, amount, kind, due date or "")
LINES = [
    (0, 0, "120.50", "usage", "2026-11-15"),
    (0, 1, "500", "one_off", "2026-11-10"),
    (0, None, "3.05", "usage", ""),
    (1, 0, "299.00", "usage", "2026-11-12"),
    (1, 0, "99.99", "one_off", "2026-12-01"),
    (1, None, "0.01", "usage", "2026-11-20"),
    (2, 0, "45.00", "usage", "2026-11-30"),
]


async def _load(db: Database) -> dict[str, Any]:
    async with db.session(write=True) as s:
        accounts = [
            await make_account(s, kinds=("mobile", "internet")),
            await make_account(s, kinds=("tv",)),
            await make_account(s, kinds=("mobile",)),
        ]
        # Prepaid money on the second account: the new charges are allocated from it.
        await pay(s, accounts[1][0], 35_000)
    rows = []
    for n, (who, which, amount, kind, due) in enumerate(LINES):
        account, services = accounts[who]
        service = ""
        if which is not None:
            s_ = services[which]
            service = s_.msisdn or (f"internet:{s_.login}" if s_.login else s_.smart_card or "")
        rows.append(
            (
                f"eq-{n}",
                account.number,
                service,
                amount,
                kind,
                "2026-11",
                "2026-11-10",
                due,
                f"line {n}",
            )
        )
    result = await import_charges(db, csv_text(rows), name="eq.csv", actor=ACTOR, batch_size=4)
    assert result.imported == len(LINES) and result.allocated_minor > 0
    return await _dump(db, accounts)


async def _dump(db: Database, accounts: list[Any]) -> dict[str, Any]:
    account_key = {a.id: n for n, (a, _) in enumerate(accounts)}
    service_key = {s.id: (n, s.kind) for n, (_, ss) in enumerate(accounts) for s in ss}
    async with db.session() as s:
        entries = list(await s.scalars(select(JournalEntry).order_by(JournalEntry.id)))
        # The source names the file by its hash, and the file names its accounts by number.
        entry_key = {
            e.id: (account_key[e.account_id], e.kind, e.memo, n) for n, e in enumerate(entries)
        }
        items = list(await s.scalars(select(OpenItem).order_by(OpenItem.id)))
        item_key = {i.id: (entry_key[i.entry_id], i.external_id) for i in items}
        return {
            "entries": [
                (*entry_key[e.id], e.actor, e.business_date, e.created_at, e.reverses_entry_id)
                for e in entries
            ],
            "postings": sorted(
                (
                    entry_key[p.entry_id],
                    account_key[p.account_id],
                    p.ledger,
                    p.amount_minor,
                    p.currency,
                )
                for p in await s.scalars(select(Posting))
            ),
            "items": [
                (
                    item_key[i.id],
                    account_key[i.account_id],
                    service_key.get(i.service_id),
                    i.side,
                    i.kind,
                    i.amount_minor,
                    i.remaining_minor,
                    i.currency,
                    i.period,
                    i.description,
                    i.charged_on,
                    i.due_date,
                    i.disputed,
                    i.created_at,
                    i.cleared_at,
                )
                for i in items
            ],
            "allocations": sorted(
                (
                    account_key[a.account_id],
                    item_key[a.debit_item_id],
                    item_key[a.credit_item_id],
                    a.amount_minor,
                    entry_key[a.entry_id],
                    a.created_at,
                )
                for a in await s.scalars(select(Allocation))
            ),
            "balances": sorted(
                (
                    account_key[b.account_id],
                    b.balance_minor,
                    b.debt_minor,
                    b.entries_count,
                    b.updated_at,
                )
                for b in await s.scalars(select(AccountBalance))
            ),
        }


async def test_copy_and_executemany_write_the_same_rows(
    db: Database, clock, sqlite_template: Path, tmp_path: Path
) -> None:
    assert db.engine.dialect.name == "postgresql"
    target = tmp_path / "twin.db"
    shutil.copyfile(sqlite_template, target)
    twin = Database(f"sqlite:///{target}")
    try:
        on_sqlite = await _load(twin)
    finally:
        await twin.dispose()
    on_postgres = await _load(db)
    assert on_postgres["items"] and on_postgres["allocations"]
    assert on_postgres == on_sqlite
    assert isinstance(on_postgres["items"][0][11], dt.date)
