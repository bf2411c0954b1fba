"""db/bulk.py: many rows in one round trip (COPY on PostgreSQL, executemany on SQLite) write
the rows an ORM insert would, inside the unit of work, and fail as an INSERT would."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from abonent.db.bulk import IN_LIST_MAX, id_filters, insert_records, insert_rows
from abonent.db.uow import Database
from abonent.models import Account, OutboxMessage
from tests.factories import make_account

AT = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
SAME = {"status": "pending", "attempts": 0, "available_at": AT, "created_at": AT}
COLUMNS = ("topic", "payload", "account_id", "dedupe_key")


async def _outbox(db: Database) -> list[tuple[Any, ...]]:
    async with db.session() as s:
        rows = await s.execute(
            select(
                OutboxMessage.topic,
                OutboxMessage.payload,
                OutboxMessage.account_id,
                OutboxMessage.dedupe_key,
                OutboxMessage.status,
                OutboxMessage.attempts,
                OutboxMessage.available_at,
                OutboxMessage.created_at,
            ).order_by(OutboxMessage.id)
        )
        return [tuple(r) for r in rows]


async def test_records_and_mappings_write_the_rows_an_orm_insert_writes(db: Database) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    payload = {"текст": "долг «1 234,50 ₽»", "n": 3, "nested": [1, None, True]}
    async with db.session(write=True) as s:
        s.add(
            OutboxMessage(
                topic="t.orm", payload=payload, account_id=account.id, dedupe_key="k:0", **SAME
            )
        )
    async with db.session(write=True) as s:
        await insert_records(
            s,
            OutboxMessage.__table__,
            COLUMNS,
            [("t.orm", payload, account.id, "k:1"), ("t.orm", payload, None, None)],
            same=SAME,
        )
        await insert_rows(
            s,
            OutboxMessage.__table__,
            [{"topic": "t.orm", "payload": payload, "account_id": account.id, "dedupe_key": "k:2"}],
            same=SAME,
        )
    rows = await _outbox(db)
    orm = rows[0]
    assert rows == [
        orm,
        (*orm[:3], "k:1", *orm[4:]),
        (orm[0], orm[1], None, None, *orm[4:]),
        (*orm[:3], "k:2", *orm[4:]),
    ]
    assert orm == ("t.orm", payload, account.id, "k:0", "pending", 0, AT, AT)


async def test_a_copy_as_the_first_statement_stays_inside_the_unit(db: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.session(write=True) as s:
            # Nothing ran in this session before: the driver has no transaction open yet.
            await insert_records(
                s, OutboxMessage.__table__, COLUMNS, [("t.first", {}, None, "first")], same=SAME
            )
            raise Boom
    assert await _outbox(db) == []


async def test_a_duplicate_key_is_an_integrity_error_and_leaves_nothing(db: Database) -> None:
    rows = [("t.dup", {}, None, "same-key"), ("t.dup", {}, None, "same-key")]
    with pytest.raises(IntegrityError):
        async with db.session(write=True) as s:
            await insert_records(s, OutboxMessage.__table__, COLUMNS, rows, same=SAME)
    assert await _outbox(db) == []


async def test_nothing_to_insert_touches_nothing(db: Database) -> None:
    async with db.session(write=True) as s:
        assert await insert_records(s, OutboxMessage.__table__, COLUMNS, [], same=SAME) == 0
        assert await insert_rows(s, OutboxMessage.__table__, [], same=SAME) == 0
    assert await _outbox(db) == []


async def test_id_filters_find_every_id_past_the_in_list_limit(db: Database) -> None:
    async with db.session(write=True) as s:
        first, _ = await make_account(s)
        second, _ = await make_account(s, full_name="Петров Пётр Петрович")
    wanted = [first.id, *range(10**9, 10**9 + IN_LIST_MAX + 5), second.id]
    async with db.session() as s:
        filters = id_filters(s, Account.id, wanted)
        found: set[int] = set()
        for among in filters:
            found |= set(await s.scalars(select(Account.id).where(among)))
        assert id_filters(s, Account.id, []) == []
        total = await s.scalar(select(func.count()).select_from(Account))
    assert found == {first.id, second.id}
    assert total == 2
    # One array parameter on PostgreSQL; lists of at most IN_LIST_MAX elsewhere.
    assert len(filters) == (1 if db.url.startswith("postgresql") else 2)
