"""Filing, resolving and the money of a claim, through the real services and ledger."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.disputes import service as disputes
from abonent.disputes.errors import ClaimTooLate, DisputeClosed, DisputeInvalid, ItemAlreadyDisputed
from abonent.disputes.repository import disputed_open_item_ids
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.ledger.dispute_credit import DISPUTE_CREDIT
from abonent.models import (
    Account,
    AuditEvent,
    Dispute,
    DisputeItem,
    JournalEntry,
    OpenItem,
    OutboxMessage,
    Posting,
)
from abonent.statement.service import statement_for
from tests.disputes.helpers import account_with_charges

D = dt.date
CLERK = Actor("staff:1:clerk", "clerk")
SUPERVISOR = Actor("staff:2:boss", "supervisor")


def at(clock: FrozenClock, day: dt.date) -> None:
    clock.at = dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC)


async def _file(db: Database, account: Account, claims: dict[int, int | None]) -> int:
    async with db.session(write=True) as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        dispute = await disputes.file_dispute(
            s, fresh, claims=claims, text="Не пользовался", channel="desk", actor=CLERK
        )
        return dispute.id


async def _counts(db: Database) -> tuple[int, int, int, int]:
    async with db.session() as s:
        return (
            await s.scalar(select(func.count()).select_from(Dispute)) or 0,
            await s.scalar(select(func.count()).select_from(DisputeItem)) or 0,
            await s.scalar(select(func.count()).select_from(JournalEntry)) or 0,
            await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        )


async def test_six_month_boundary(db: Database, clock: FrozenClock) -> None:
    account, old, _new = await account_with_charges(db, clock)
    at(clock, D(2026, 11, 16))
    before = await _counts(db)
    with pytest.raises(ClaimTooLate) as refused:
        await _file(db, account, {old.id: None})
    assert refused.value.code == "dispute_claim_too_late"
    assert refused.value.detail == (
        "Претензия по начислению от 15.05.2026 принимается до 15.11.2026: срок 6 месяцев истёк."
    )
    assert await _counts(db) == before
    at(clock, D(2026, 11, 15))  # a Sunday: the last day still counts, registered on Monday
    dispute_id = await _file(db, account, {old.id: None})
    async with db.session() as s:
        dispute = await s.get(Dispute, dispute_id)
        assert dispute is not None
        assert (dispute.received_on, dispute.registered_on, dispute.answer_due_on) == (
            D(2026, 11, 15),
            D(2026, 11, 16),
            D(2026, 12, 16),
        )
        assert dispute.international is False


async def test_roaming_charge_gets_sixty_days(db: Database, clock: FrozenClock) -> None:
    account, _old, new = await account_with_charges(db, clock, kind="roaming")
    dispute_id = await _file(db, account, {new.id: None})
    async with db.session() as s:
        dispute = await s.get(Dispute, dispute_id)
        assert dispute is not None
        assert dispute.international is True
        assert dispute.answer_due_on == D(2027, 1, 18)  # 17.01.2027 is a Sunday


async def test_open_claim_keeps_debt_but_leaves_dunning(db: Database, clock: FrozenClock) -> None:
    account, old, new = await account_with_charges(db, clock)
    async with db.session() as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        before = await statement_for(s, fresh)
    dispute_id = await _file(db, account, {new.id: 20_000})
    async with db.session() as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        after = await statement_for(s, fresh)
        assert (after.debt_minor, after.overdue_minor) == (before.debt_minor, before.overdue_minor)
        assert after.debt_minor == 80_000
        assert await disputed_open_item_ids(s, [account.id]) == {new.id}
        item = await s.get(OpenItem, new.id)
        assert item is not None and item.disputed is True
        assert (await s.get(OpenItem, old.id)).disputed is False  # type: ignore[union-attr]
    # a second claim on the same charge is refused while the first is open
    with pytest.raises(ItemAlreadyDisputed):
        await _file(db, account, {new.id: None})
    async with db.session(write=True) as s:
        await disputes.resolve(
            s, dispute_id, outcome="reject", reason="Звонки были", actor=SUPERVISOR
        )
    async with db.session() as s:
        assert await disputed_open_item_ids(s, [account.id]) == set()
        item = await s.get(OpenItem, new.id)
        assert item is not None and item.disputed is False


async def test_accepted_twice_credits_once(db: Database, clock: FrozenClock) -> None:
    account, _old, new = await account_with_charges(db, clock)
    dispute_id = await _file(db, account, {new.id: None})
    async with db.session(write=True) as s:
        first = await disputes.resolve(
            s, dispute_id, outcome="accept", reason="Сбой тарификации", actor=SUPERVISOR
        )
    assert (first.credited_minor, first.credited_now, first.dispute.status) == (
        50_000,
        True,
        "accepted",
    )
    async with db.session(write=True) as s:
        second = await disputes.resolve(
            s, dispute_id, outcome="accept", reason="Ещё раз", actor=SUPERVISOR
        )
    assert (second.credited_minor, second.credited_now) == (50_000, False)
    async with db.session() as s:
        credits = list(
            await s.scalars(select(JournalEntry).where(JournalEntry.kind == DISPUTE_CREDIT))
        )
        assert len(credits) == 1
        legs = sorted(
            (p.ledger, p.amount_minor)
            for p in await s.scalars(select(Posting).where(Posting.entry_id == credits[0].id))
        )
        assert legs == [("revenue:mobile", 50_000), ("subscriber", -50_000)]
        item = await s.get(OpenItem, new.id)
        assert item is not None and item.remaining_minor == 0
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        assert (await statement_for(s, fresh)).debt_minor == 30_000
        sms = list(await s.scalars(select(OutboxMessage)))
        assert len(sms) == 1
        assert sms[0].payload["kind"] == "dispute_resolved"
        number = fresh.number
        assert sms[0].payload["text"] == (
            f"Претензия №{dispute_id} по лицевому счёту ****{number[-4:]} удовлетворена: "
            "зачислено 500,00\xa0₽. Ответ направлен вам письменно."
        )
        actions = list(
            await s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_type == "dispute")
                .order_by(AuditEvent.id)
            )
        )
        assert actions == ["dispute.filed", "dispute.accepted"]
    # a rejection after acceptance is refused, nothing changes
    async with db.session(write=True) as s:
        with pytest.raises(DisputeClosed):
            await disputes.resolve(s, dispute_id, outcome="reject", reason="нет", actor=SUPERVISOR)


async def test_partial_acceptance(db: Database, clock: FrozenClock) -> None:
    account, old, new = await account_with_charges(db, clock)
    at(clock, D(2026, 11, 12))
    dispute_id = await _file(db, account, {old.id: None, new.id: 40_000})
    at(clock, D(2026, 11, 18))
    async with db.session(write=True) as s:
        with pytest.raises(DisputeInvalid):
            await disputes.resolve(
                s,
                dispute_id,
                outcome="accept",
                accepted={new.id: 40_001},
                reason="x",
                actor=SUPERVISOR,
            )
    async with db.session(write=True) as s:
        done = await disputes.resolve(
            s,
            dispute_id,
            outcome="accept",
            accepted={old.id: 0, new.id: 15_000},
            reason="Частично",
            actor=SUPERVISOR,
        )
    assert (done.dispute.status, done.credited_minor) == ("partially_accepted", 15_000)
    async with db.session() as s:
        items = {
            i.open_item_id: (i.claimed_minor, i.accepted_minor)
            for i in await s.scalars(select(DisputeItem))
        }
        assert items == {old.id: (30_000, 0), new.id: (40_000, 15_000)}
        remaining = {
            i.id: i.remaining_minor
            for i in await s.scalars(select(OpenItem).where(OpenItem.id.in_([old.id, new.id])))
        }
        assert remaining == {old.id: 30_000, new.id: 35_000}
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        assert (await statement_for(s, fresh)).debt_minor == 65_000
        text = (await s.scalars(select(OutboxMessage))).one().payload["text"]
        assert "удовлетворена частично: зачислено 150,00\xa0₽." in text


async def test_bad_input_changes_nothing(db: Database, clock: FrozenClock) -> None:
    account, old, new = await account_with_charges(db, clock)
    async with db.session(write=True) as s:
        other = await s.get(Account, account.id)
    before = await _counts(db)
    for claims, text in (
        ({}, "текст"),
        ({new.id: None}, "   "),
        ({new.id: 50_001}, "текст"),
        ({new.id: 0}, "текст"),
        ({999_999: None}, "текст"),
    ):
        async with db.session(write=True) as s:
            assert other is not None
            fresh = await s.get(Account, account.id)
            assert fresh is not None
            with pytest.raises(DisputeInvalid):
                await disputes.file_dispute(
                    s, fresh, claims=claims, text=text, channel="desk", actor=CLERK
                )
    assert await _counts(db) == before
    async with db.session() as s:
        assert await disputed_open_item_ids(s) == set()
        assert not (await s.get(OpenItem, old.id)).disputed  # type: ignore[union-attr]


async def test_nearing_deadline(db: Database, clock: FrozenClock) -> None:
    account, old, new = await account_with_charges(db, clock)
    at(clock, D(2026, 11, 12))
    early = await _file(db, account, {old.id: None})  # due 14.12.2026
    at(clock, D(2026, 11, 18))
    late = await _file(db, account, {new.id: None})  # due 18.12.2026
    async with db.session() as s:
        assert [d.id for d in await disputes.nearing_deadline(s, today=D(2026, 12, 8))] == []
        assert [d.id for d in await disputes.nearing_deadline(s, today=D(2026, 12, 9))] == [early]
        assert [d.id for d in await disputes.nearing_deadline(s, today=D(2026, 12, 13))] == [
            early,
            late,
        ]
