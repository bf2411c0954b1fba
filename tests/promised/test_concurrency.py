"""Two takes on one account at once: exactly one promised payment, the other refused."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import Account, JournalEntry, PromisedPayment
from abonent.promised import service as promised
from abonent.promised.errors import PromisedRefused
from tests.factories import ACTOR
from tests.promised.helpers import subscriber


@pytest.mark.postgres_only
async def test_concurrent_takes_give_one(db: Database, clock: FrozenClock) -> None:
    account, _ = await subscriber(db, clock)
    async with db.session() as s:
        entries_before = await s.scalar(select(func.count()).select_from(JournalEntry))

    async def take(amount: int) -> str:
        async def unit(s: AsyncSession) -> str:
            fresh = await s.get(Account, account.id)
            assert fresh is not None
            await promised.take(s, fresh, amount, channel="api", actor=ACTOR)
            return "taken"

        try:
            return await db.run(unit)
        except PromisedRefused as exc:
            return exc.code

    outcomes = await asyncio.gather(*(take(a) for a in (10_000, 20_000, 30_000, 10_000)))
    assert sorted(outcomes) == ["promised_in_force"] * 3 + ["taken"]
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(PromisedPayment)) == 1
        entries = await s.scalar(select(func.count()).select_from(JournalEntry))
    assert entries == (entries_before or 0) + 3  # credit, repayment, fee
