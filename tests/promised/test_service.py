"""The promised payment's rules, the money it moves, its repayment order and its end."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from abonent.accounts import service as accounts
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.models import Account, AuditEvent, OpenItem, OutboxMessage, PromisedPayment, Service
from abonent.promised import service as promised
from abonent.promised.errors import PromisedAmountInvalid, PromisedRefused
from abonent.statement.reader import read_statement
from abonent.statement.service import statement_by_number, statement_for
from tests.factories import ACTOR, charge
from tests.promised.helpers import D, ledger_counts, pay_by_api, subscriber

CLERK = Actor("test-clerk", "clerk")


async def _take(db: Database, account: Account, amount: int) -> promised.Taken:
    async with db.session(write=True) as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        return await promised.take(s, fresh, amount, channel="api", actor=CLERK)


async def test_offer_follows_history_and_need(db: Database, clock: FrozenClock) -> None:
    account, _ = await subscriber(db, clock)
    async with db.session() as s:
        offer = await promised.offer(s, account)
    assert offer.max_minor == 60_000
    assert [(line.amount_minor, line.fee_minor) for line in offer.lines] == [
        (10_000, 1_000),
        (20_000, 1_000),
        (30_000, 2_500),
    ]
    assert offer.due_date == D(2026, 11, 21)
    assert offer.term_days == 3


async def test_take_moves_money_through_the_ledger_and_restores_the_service(
    db: Database, clock: FrozenClock
) -> None:
    account, (sim,) = await subscriber(db, clock)
    async with db.session(write=True) as s:
        service = await s.get(Service, sim.id)
        assert service is not None
        await accounts.change_service_status(
            s, service, "suspended", actor=ACTOR, reason="debt", suspended_reason="debt"
        )
    taken = await _take(db, account, 30_000)
    assert taken.restored_service_ids == (sim.id,)
    # 300 cleared the 250 overdue; the 50 left cleared part of the repayment: 250 + fee 25 owed.
    assert taken.owed_minor == 25_000 + 2_500
    async with db.session() as s:
        st = await statement_for(s, account)
        items = (
            await s.scalars(
                select(OpenItem).where(OpenItem.account_id == account.id).order_by(OpenItem.id)
            )
        ).all()
        row = await s.get(PromisedPayment, taken.promised.id)
        sms = (
            await s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "sms.send"))
        ).all()
        audit = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "promised.take"))
        ).all()
    assert st.balance_minor == -27_500
    assert st.debt_minor == 27_500
    assert st.overdue_minor == 0
    assert st.next_due_date == D(2026, 11, 21)
    assert st.promised_payment == {
        "amount_minor": 30_000,
        "fee_minor": 2_500,
        "currency": "RUB",
        "taken_at": "2026-11-18T12:00:00+00:00",
        "expires_at": "2026-11-21T12:00:00+00:00",
        "due_date": "2026-11-21",
        "owed_minor": 27_500,
        "status": "in_force",
    }
    kinds = [(i.kind, i.side, i.amount_minor, i.remaining_minor) for i in items[-3:]]
    assert kinds == [
        ("promised", "credit", 30_000, 0),
        ("promised_repayment", "debit", 30_000, 25_000),
        ("promised_fee", "debit", 2_500, 2_500),
    ]
    assert row is not None and row.status == "in_force" and row.channel == "api"
    assert row.repayment_item_id == items[-2].id and row.fee_item_id == items[-1].id
    assert [m.payload["text"] for m in sms] == [
        f"Обещанный платёж 300,00 ₽ подключён до 21.11.2026, плата 25,00 ₽. "
        f"ЛС ****{account.number[-4:]}"
    ]
    assert len(audit) == 1
    # The fast path and the session path show the same statement.
    async with db.session() as s:
        by_number = await statement_by_number(s, account.number)
    assert by_number == st
    assert await read_statement(db.engine, account.number) == st


async def test_next_payments_repay_it_first_then_the_fee_then_later_charges(
    db: Database, clock: FrozenClock
) -> None:
    account, (sim,) = await subscriber(db, clock)
    await _take(db, account, 30_000)
    async with db.session(write=True) as s:
        # A charge falling due after the promised payment's term.
        await charge(s, account, 40_000, due=D(2026, 12, 3), service=sim)
    await pay_by_api(db, account, 20_000, "p1")
    async with db.session() as s:
        st = await statement_for(s, account)
    assert st.promised_payment is not None
    assert st.promised_payment["owed_minor"] == 5_000 + 2_500
    assert st.debt_minor == 47_500
    await pay_by_api(db, account, 5_000, "p2")
    async with db.session() as s:
        st = await statement_for(s, account)
        fast = await read_statement(db.engine, account.number)
    # The repayment is cleared: repaid, though its fee is still owed like any charge.
    assert st.promised_payment is not None
    assert (st.promised_payment["status"], st.promised_payment["owed_minor"]) == ("repaid", 2_500)
    assert fast == st
    await pay_by_api(db, account, 5_000, "p3")
    async with db.session() as s:
        st = await statement_for(s, account)
        view = await promised.view(s, account)
    assert st.promised_payment is not None
    assert st.promised_payment["owed_minor"] == 0
    assert st.promised_payment["status"] == "repaid"
    assert st.debt_by_service[0].debt_minor == 37_500  # the later charge got only what was left
    assert view.in_force is not None and view.in_force.owed_minor == 0
    async with db.session(write=True) as s:
        ended, _last = await promised.end_due(s)
    assert ended.as_dict() == {"repaid": 1, "expired": 0}
    async with db.session(write=True) as s:
        again, _last = await promised.end_due(s)
        st = await statement_for(s, account)
    assert again.as_dict() == {"repaid": 0, "expired": 0}
    assert st.promised_payment is None


async def test_expiry_leaves_the_unpaid_part_as_overdue_debt_and_runs_twice_safely(
    db: Database, clock: FrozenClock
) -> None:
    account, _ = await subscriber(db, clock)
    taken = await _take(db, account, 30_000)
    await pay_by_api(db, account, 10_000, "p1")
    clock.at = dt.datetime(2026, 11, 21, 11, 59, tzinfo=dt.UTC)
    async with db.session(write=True) as s:
        early, _ = await promised.end_due(s)
    assert early.as_dict() == {"repaid": 0, "expired": 0}
    clock.at = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
    async with db.session(write=True) as s:
        ended, _ = await promised.end_due(s)
    async with db.session(write=True) as s:
        again, _ = await promised.end_due(s)
        row = await s.get(PromisedPayment, taken.promised.id)
        st = await statement_for(s, account)
    assert ended.as_dict() == {"repaid": 0, "expired": 1}
    assert again.as_dict() == {"repaid": 0, "expired": 0}
    assert row is not None and row.status == "expired"
    assert row.ended_at == dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
    assert st.promised_payment is None
    assert st.overdue_minor == 15_000 + 2_500
    assert st.debt_minor == 17_500


REFUSALS = [
    ("promised_account_suspended", "не подключён: лицевой счёт приостановлен"),
    ("promised_account_closed", "не подключён: лицевой счёт закрыт"),
    ("promised_account_too_young", "не подключён: счёт открыт менее 30 дней назад"),
    (
        "promised_debt_too_large",
        "не подключён: долг 2 000,00 ₽ больше допустимых 1 500,00 ₽",
    ),
    ("promised_not_needed", "не нужен: просроченного долга нет"),
    ("promised_too_little_history", "не подключён: начислений за 3 мес. слишком мало"),
]


@pytest.mark.parametrize(("code", "reason"), REFUSALS, ids=[c for c, _ in REFUSALS])
async def test_each_refusal_says_why_and_changes_nothing(
    db: Database, clock: FrozenClock, code: str, reason: str
) -> None:
    kwargs: dict[str, object] = {}
    if code == "promised_account_too_young":
        kwargs["opened_days_ago"] = 10
    if code == "promised_debt_too_large":
        kwargs["overdue"] = ((0, 200_000),)
    if code == "promised_not_needed":
        kwargs["overdue"] = ()
    if code == "promised_too_little_history":
        kwargs["monthly_minor"] = 4_000
    account, _ = await subscriber(db, clock, **kwargs)  # type: ignore[arg-type]
    if code in ("promised_account_suspended", "promised_account_closed"):
        async with db.session(write=True) as s:
            fresh = await s.get(Account, account.id)
            assert fresh is not None
            status = "suspended" if code == "promised_account_suspended" else "closed"
            await accounts.change_account_status(s, fresh, status, actor=ACTOR, reason="test")
    async with db.session() as s:
        before = await ledger_counts(s)
    with pytest.raises(PromisedRefused) as caught:
        await _take(db, account, 10_000)
    assert (caught.value.code, caught.value.detail) == (code, reason)
    async with db.session() as s:
        assert await ledger_counts(s) == before
        assert await s.scalar(select(PromisedPayment.id)) is None


async def test_in_force_and_monthly_limit_refusals(db: Database, clock: FrozenClock) -> None:
    account, (sim,) = await subscriber(db, clock)
    await _take(db, account, 30_000)
    with pytest.raises(PromisedRefused) as caught:
        await _take(db, account, 10_000)
    assert caught.value.code == "promised_in_force"
    assert caught.value.detail == (
        "не подключён: на счёте уже действует обещанный платёж до 21.11.2026"
    )
    await pay_by_api(db, account, 27_500, "p1")  # repaid: no longer in the way
    async with db.session(write=True) as s:
        await charge(s, account, 10_000, due=D(2026, 11, 17), service=sim)
    second = await _take(db, account, 10_000)
    async with db.session() as s:
        first = await s.scalar(
            select(PromisedPayment).where(PromisedPayment.id != second.promised.id)
        )
    assert first is not None and first.status == "repaid"
    await pay_by_api(db, account, second.owed_minor, "p2")
    async with db.session(write=True) as s:
        await charge(s, account, 10_000, due=D(2026, 11, 17), service=sim)
    with pytest.raises(PromisedRefused) as caught:
        await _take(db, account, 10_000)
    assert caught.value.code == "promised_monthly_limit"
    assert caught.value.detail == (
        "не подключён: в этом месяце он уже был 2 раз(а), можно не больше 2"
    )


async def test_an_amount_not_offered_is_refused(db: Database, clock: FrozenClock) -> None:
    account, _ = await subscriber(db, clock)
    async with db.session() as s:
        before = await ledger_counts(s)
    with pytest.raises(PromisedAmountInvalid) as caught:
        await _take(db, account, 50_000)
    assert caught.value.detail == (
        "сумма 500,00 ₽ не предлагается; можно: 100,00 ₽, 200,00 ₽, 300,00 ₽"
    )
    async with db.session() as s:
        assert await ledger_counts(s) == before


async def test_disabled_by_configuration(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, _ = await subscriber(db, clock)
    monkeypatch.setattr(get_settings().promised_payment, "enabled", False)
    with pytest.raises(PromisedRefused) as caught:
        await _take(db, account, 10_000)
    assert caught.value.code == "promised_disabled"


def test_fee_bands() -> None:
    from abonent.promised.rules import fee_for

    rules = get_settings().promised_payment
    assert [fee_for(a, rules) for a in (5_000, 9_999, 10_000, 29_999, 30_000, 50_000, 80_000)] == [
        0,
        0,
        1_000,
        1_000,
        2_500,
        5_000,
        5_000,
    ]
