"""book_payment: the one path every payment source books through."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from abonent.accounts.service import change_account_status, change_service_status
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.models import (
    AccountBalance,
    AuditEvent,
    JournalEntry,
    OpenItem,
    OutboxMessage,
    Payment,
    Service,
    ServiceStatusChange,
)
from abonent.payments.errors import (
    AccountNotPayable,
    DuplicateMismatch,
    NotReversible,
    PaymentRefused,
)
from abonent.payments.service import PaymentRequest, book_payment, reverse_payment
from abonent.statement.service import statement_for
from tests.factories import ACTOR, charge, make_account

D = dt.date
AGENT = Actor("agent:BANK", "integration")


def request(account, amount: int, txn: str = "1001", **kw) -> PaymentRequest:  # type: ignore[no-untyped-def]
    return PaymentRequest(
        account=account,
        amount_minor=amount,
        method="agent",
        source="osmp:BANK",
        source_txn_id=txn,
        actor=AGENT,
        **kw,
    )


async def counts(db: Database) -> tuple[int, int, int]:
    async with db.session() as s:
        return (
            await s.scalar(select(func.count()).select_from(Payment)) or 0,
            await s.scalar(select(func.count()).select_from(JournalEntry)) or 0,
            await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        )


async def test_booking_allocates_and_queues_confirmation(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 30_000, due=D(2026, 11, 1), service=sim)
    booked = await db.run(lambda s: book_payment(s, request(account, 50_000)))
    assert booked.created
    async with db.session() as s:
        st = await statement_for(s, account)
        assert (st.balance_minor, st.debt_minor) == (20_000, 0)
        sms = await s.scalar(select(OutboxMessage).where(OutboxMessage.topic == "sms.send"))
        assert sms is not None
        assert sms.payload["to"] == sim.msisdn
        assert sms.payload["text"] == f"Платёж 500,00 ₽ зачислен на ЛС ****{account.number[-4:]}"
        assert "http" not in sms.payload["text"]
        audit = await s.scalar(select(AuditEvent).where(AuditEvent.action == "payment.book"))
        assert audit is not None and audit.actor == "agent:BANK"


async def test_replay_books_nothing_and_mismatch_is_refused(db: Database) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        other, _ = await make_account(s)
    first = await db.run(lambda s: book_payment(s, request(account, 10_000)))
    before = await counts(db)
    again = await db.run(lambda s: book_payment(s, request(account, 10_000)))
    assert not again.created and again.payment.id == first.payment.id
    assert await counts(db) == before
    for bad in (request(account, 10_001), request(other, 10_000)):
        with pytest.raises(DuplicateMismatch):
            await db.run(lambda s, bad=bad: book_payment(s, bad))
    assert await counts(db) == before


async def test_closed_account_takes_payment_only_up_to_its_debt(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 25_000, due=D(2026, 9, 1), service=sim)
        await change_account_status(s, account, "closed", actor=ACTOR, reason="moved away")
    before = await counts(db)
    with pytest.raises(PaymentRefused) as err:
        await db.run(lambda s: book_payment(s, request(account, 25_001, "1")))
    assert err.value.code == "payment_exceeds_closed_debt"
    assert await counts(db) == before
    await db.run(lambda s: book_payment(s, request(account, 25_000, "2")))
    with pytest.raises(AccountNotPayable):
        await db.run(lambda s: book_payment(s, request(account, 100, "3")))
    async with db.session() as s:
        balance = await s.get(AccountBalance, account.id)
        assert balance is not None and (balance.balance_minor, balance.debt_minor) == (0, 0)


async def test_payment_restores_only_the_service_whose_overdue_it_clears(
    db: Database, clock
) -> None:
    async with db.session(write=True) as s:
        account, (sim, line) = await make_account(s, kinds=("mobile", "internet"))
        await charge(s, account, 40_000, due=D(2026, 9, 1), service=line)
        await charge(s, account, 10_000, due=D(2026, 10, 1), service=sim)
        for service in (sim, line):
            await change_service_status(
                s, service, "suspended", actor=ACTOR, reason="overdue", suspended_reason="debt"
            )
    # 40 000 clears the older internet debt only: internet is restored, mobile stays off.
    booked = await db.run(lambda s: book_payment(s, request(account, 40_000)))
    assert booked.restored_service_ids == (line.id,)
    async with db.session() as s:
        statuses = dict(
            (
                await s.execute(
                    select(Service.id, Service.status).where(Service.account_id == account.id)
                )
            ).all()
        )
        assert statuses == {sim.id: "suspended", line.id: "active"}
        restored = list(
            await s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "service.restored"))
        )
        assert [m.payload["service_id"] for m in restored] == [line.id]
        change = await s.scalar(
            select(ServiceStatusChange).where(
                ServiceStatusChange.service_id == line.id, ServiceStatusChange.to_status == "active"
            )
        )
        assert change is not None and change.reason == "overdue debt paid"


async def test_reverse_payment_reopens_debt_and_only_once(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 30_000, due=D(2026, 10, 1), service=sim)
    booked = await db.run(lambda s: book_payment(s, request(account, 30_000)))
    staff = Actor("apikey:1:boss", "supervisor")
    await db.run(lambda s: reverse_payment(s, booked.payment.id, reason="chargeback", actor=staff))
    async with db.session() as s:
        st = await statement_for(s, account)
        assert (st.balance_minor, st.debt_minor, st.overdue_minor) == (-30_000, 30_000, 30_000)
        payment = await s.get(Payment, booked.payment.id)
        assert payment is not None and payment.status == "reversed"
    before = await counts(db)
    with pytest.raises(NotReversible):
        await db.run(lambda s: reverse_payment(s, booked.payment.id, reason="again", actor=staff))
    assert await counts(db) == before


async def test_objects_loaded_before_booking_show_what_it_wrote(db: Database, clock) -> None:
    # PostgreSQL books with statements of its own; what this unit had loaded must not go stale.
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        first = await charge(s, account, 30_000, due=D(2026, 10, 1), service=sim)
        second = await charge(s, account, 20_000, due=D(2026, 11, 1), service=sim)
    assert first.item is not None and second.item is not None
    async with db.session(write=True) as s:
        balance = await s.get(AccountBalance, account.id)
        older = await s.get(OpenItem, first.item.id)
        newer = await s.get(OpenItem, second.item.id)
        booked = await book_payment(s, request(account, 35_000))
        assert balance is not None and older is not None and newer is not None
        seen = (
            (balance.balance_minor, balance.debt_minor, balance.entries_count),
            (older.remaining_minor, older.cleared_at),
            (newer.remaining_minor, newer.cleared_at),
        )
        assert await s.get(Payment, booked.payment.id) is booked.payment
    assert seen == ((-15_000, 15_000, 3), (0, clock.now()), (15_000, None))
    async with db.session() as s:
        stored = await s.get(AccountBalance, account.id)
        assert stored is not None
        assert (stored.balance_minor, stored.debt_minor, stored.entries_count) == seen[0]
        for item, expected in ((first.item, seen[1]), (second.item, seen[2])):
            fresh = await s.get(OpenItem, item.id)
            assert fresh is not None and (fresh.remaining_minor, fresh.cleared_at) == expected


@pytest.mark.parametrize(
    ("method", "source", "txn", "memo"),
    [
        ("agent", "osmp:SBER", "77001", "Оплата через платёжного агента SBER, чек № 77001"),
        ("registry", "osmp:SBER", "77002", "Оплата через SBER (реестр платежей), № 77002"),
        ("card", "card:sandbox", "pay_1", "Оплата банковской картой, № pay_1"),
        ("office", "office", "staff1:abc", "Оплата в офисе"),
        ("api", "api:3", "ext-9", "Оплата, № ext-9"),
    ],
)
async def test_a_payment_says_in_russian_how_it_came_in(
    db: Database, clock: FrozenClock, method: str, source: str, txn: str, memo: str
) -> None:
    # The memo is what the cabinet and the console show under the payment.
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    booked = await db.run(
        lambda s: book_payment(
            s,
            PaymentRequest(
                account=account,
                amount_minor=100,
                method=method,
                source=source,
                source_txn_id=txn,
                actor=ACTOR,
            ),
        )
    )
    async with db.session() as s:
        assert booked.payment.entry_id is not None
        entry = await s.get_one(JournalEntry, booked.payment.entry_id)
    assert entry.memo == memo
    assert "staff1" not in (entry.memo or "")
