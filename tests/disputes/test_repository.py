"""disputed_open_item_ids: the items of open disputes only, optionally for some accounts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.uow import Database
from abonent.disputes.repository import disputed_open_item_ids
from abonent.kit.clock import FrozenClock
from abonent.models import Dispute, DisputeItem
from tests.conftest import NOW
from tests.factories import charge, make_account

D = dt.date


async def _dispute(s: AsyncSession, account_id: int, item_id: int, status: str) -> None:
    dispute = Dispute(
        account_id=account_id,
        text="Не звонил",
        status=status,
        channel="desk",
        filed_by="test",
        received_on=D(2026, 11, 18),
        registered_on=D(2026, 11, 18),
        answer_due_on=D(2026, 12, 18),
        international=False,
        created_at=NOW,
    )
    s.add(dispute)
    await s.flush()
    s.add(DisputeItem(dispute_id=dispute.id, open_item_id=item_id, claimed_minor=100))
    await s.flush()


async def test_only_open_disputes_count(db: Database, clock: FrozenClock) -> None:
    async with db.session(write=True) as s:
        a, _ = await make_account(s)
        b, _ = await make_account(s)
        a1 = await charge(s, a, 10_000, due=D(2026, 11, 10))
        a2 = await charge(s, a, 20_000, due=D(2026, 11, 10))
        b1 = await charge(s, b, 30_000, due=D(2026, 11, 10))
        assert a1.item and a2.item and b1.item
        await _dispute(s, a.id, a1.item.id, "open")
        await _dispute(s, a.id, a2.item.id, "rejected")
        await _dispute(s, b.id, b1.item.id, "open")
    async with db.session() as s:
        assert await disputed_open_item_ids(s) == {a1.item.id, b1.item.id}
        assert await disputed_open_item_ids(s, [a.id]) == {a1.item.id}
        assert await disputed_open_item_ids(s, [b.id]) == {b1.item.id}
        assert await disputed_open_item_ids(s, []) == set()
