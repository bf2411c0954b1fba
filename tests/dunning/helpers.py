"""A ladder, an account with a charge on a service, and a look at what the run wrote."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from abonent.collections import service as collections
from abonent.db.uow import Database
from abonent.dunning import ladder, service
from abonent.kit.actor import Actor
from abonent.models import Account, DunningProgress, OutboxMessage, Service
from tests.factories import charge, make_account

D = dt.date
ADMIN = Actor("test-admin", "admin")
DUE = D(2026, 11, 10)

LADDER = """
name = "test"

[[step]]
name = "remind"
action = "remind"
offset_days = -3

[[step]]
name = "notice_1"
action = "notice_1"
offset_days = 1

[[step]]
name = "notice_2"
action = "notice_2"
offset_days = 10

[[step]]
name = "suspend"
action = "suspend_service"
offset_days = 20
by_kind = { tv = 30 }

[[step]]
name = "hand_over"
action = "hand_over"
offset_days = 60

[[step]]
name = "court_package"
action = "court_package"
offset_days = 120

[[step]]
name = "write_off"
action = "write_off"
offset_days = 365
"""
OFFSETS = {
    "remind": -3,
    "notice_1": 1,
    "notice_2": 10,
    "suspend": 20,
    "hand_over": 60,
    "court_package": 120,
    "write_off": 365,
}


async def load(db: Database, text: str = LADDER, name: str = "test.toml") -> int:
    spec = ladder.read(text, name)
    async with db.session(write=True) as s:
        return (await service.load_ladder(s, spec, source=name, actor=ADMIN)).id


async def agency(db: Database) -> int:
    async with db.session(write=True) as s:
        found = await collections.add_agency(s, name="ООО «Возврат»", inn="7707083893", actor=ADMIN)
        return found.id


async def debtor(
    db: Database,
    *,
    kinds: Sequence[str] = ("mobile",),
    charges: Sequence[tuple[int, int, dt.date]] = ((0, 50_000, DUE),),
) -> tuple[Account, list[Service], list[int]]:
    """An account with services of ``kinds`` and charges (service index, kopecks, due date)."""
    async with db.session(write=True) as s:
        account, services = await make_account(s, kinds=kinds)
        items = []
        for index, amount, due in charges:
            posted = await charge(s, account, amount, due=due, service=services[index])
            assert posted.item is not None
            items.append(posted.item.id)
    return account, services, items


async def run(db: Database, day: dt.date, **kw: Any) -> service.RunSummary:
    return await service.run(db, run_date=day, **kw)


async def progress(db: Database) -> list[tuple[int, str, str, dt.date]]:
    async with db.session() as s:
        rows = await s.execute(
            select(
                DunningProgress.open_item_id,
                DunningProgress.step,
                DunningProgress.outcome,
                DunningProgress.run_date,
            ).order_by(DunningProgress.open_item_id, DunningProgress.step)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def notices(db: Database) -> list[tuple[str | None, dict[str, Any]]]:
    async with db.session() as s:
        rows = await s.execute(
            select(OutboxMessage.dedupe_key, OutboxMessage.payload)
            .where(OutboxMessage.topic == "dunning.notice")
            .order_by(OutboxMessage.id)
        )
        return [(k, p) for k, p in rows]


async def statuses(db: Database, services: Sequence[Service]) -> list[str]:
    async with db.session() as s:
        return [
            (await s.get(Service, x.id)).status  # type: ignore[union-attr]
            for x in services
        ]
