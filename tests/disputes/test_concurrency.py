"""Two supervisors accept one claim at once: one credit entry, both told it is accepted."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.uow import Database
from abonent.disputes import service as disputes
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.ledger.dispute_credit import DISPUTE_CREDIT
from abonent.models import Account, JournalEntry, OutboxMessage
from tests.disputes.helpers import account_with_charges

SUPERVISOR = Actor("staff:2:boss", "supervisor")


@pytest.mark.postgres_only
async def test_concurrent_acceptances_credit_once(db: Database, clock: FrozenClock) -> None:
    account, _old, new = await account_with_charges(db, clock)
    async with db.session(write=True) as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        dispute = await disputes.file_dispute(
            s, fresh, claims={new.id: None}, text="Не звонил", channel="desk", actor=SUPERVISOR
        )
        dispute_id = dispute.id

    async def accept(_: int) -> bool:
        async def unit(s: AsyncSession) -> bool:
            done = await disputes.resolve(
                s, dispute_id, outcome="accept", reason="Сбой", actor=SUPERVISOR
            )
            return done.credited_now

        return await db.run(unit)

    outcomes = await asyncio.gather(*(accept(n) for n in range(4)))
    assert sorted(outcomes) == [False, False, False, True]
    async with db.session() as s:
        credits = await s.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.kind == DISPUTE_CREDIT)
        )
        assert credits == 1
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
