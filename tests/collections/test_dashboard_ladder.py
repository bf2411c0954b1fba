"""The dashboard's series by ladder step: each open charge counted once, at the furthest step
the ladder took it to; a paid charge leaves the series."""

from __future__ import annotations

import datetime as dt

from abonent.collections import dashboard
from abonent.db.uow import Database
from abonent.dunning import service as dunning
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from tests.dunning.helpers import load
from tests.factories import charge, make_account, pay

D = dt.date
STAFF = Actor("staff:7:olga", "collections")


async def test_furthest_step_per_open_charge(db: Database, clock: FrozenClock) -> None:
    await load(db)  # remind −3, notice_1 +1, notice_2 +10, suspend +20, …
    async with db.session(write=True) as s:
        early, (sim,) = await make_account(s)
        late, (sim2,) = await make_account(s)
        settled, (sim3,) = await make_account(s)
        await charge(s, early, 30_000, due=D(2026, 10, 1), service=sim)  # 12 days on 13.10
        await charge(s, late, 20_000, due=D(2026, 10, 11), service=sim2)  # 2 days
        await charge(s, settled, 10_000, due=D(2026, 10, 1), service=sim3)
    for day in (D(2026, 10, 2), D(2026, 10, 13)):
        await dunning.run(db, run_date=day)
    async with db.session(write=True) as s:
        await pay(s, settled, 10_000)
    async with db.session() as s:
        found = await dashboard.series(s, "ladder", actor=STAFF)
    by_label = {r.label: (r.amount_minor, r.count) for r in found.rows}
    assert by_label["Второе уведомление"] == (30_000, 1)
    assert by_label["Первое уведомление"] == (20_000, 1)
    assert sum(n for _, n in by_label.values()) == 2  # the paid charge is gone
    assert found.total_minor == 50_000
