"""Monthly tariff fees: who pays, how much, once per service and period."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from abonent.accounts import service as accounts
from abonent.charges.errors import PeriodInvalid
from abonent.charges.fees import prorate, run_fees
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.ledger.reconcile import reconcile
from abonent.models import AccountBalance, JournalEntry, OpenItem, Posting
from tests.charges.helpers import ACTOR, snapshot
from tests.factories import ACTOR as FACTORY_ACTOR
from tests.factories import make_account, next_msisdn, pay

D = dt.date
UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


async def _tariffs(s) -> None:  # type: ignore[no-untyped-def]
    for code, kind, fee in (
        ("MOB", "mobile", 45_000),
        ("NET", "internet", 60_000),
        ("TV", "tv", 29_900),
        ("FREE", "mobile", 0),
    ):
        await accounts.ensure_tariff(
            s, code=code, name=f"Тариф {code}", service_kind=kind, monthly_fee_minor=fee
        )


async def _service(s, clock: FrozenClock, account, when: dt.datetime, kind: str, tariff):  # type: ignore[no-untyped-def]
    clock.at = when
    n = next_msisdn()[-8:]
    spec = {
        "mobile": accounts.ServiceSpec(kind="mobile", msisdn=next_msisdn(), tariff_code=tariff),
        "internet": accounts.ServiceSpec(kind="internet", login=f"home{n}", tariff_code=tariff),
        "tv": accounts.ServiceSpec(
            kind="tv", smart_card=f"75{n}", chip_id=f"X{n}", tariff_code=tariff
        ),
    }[kind]
    return await accounts.add_service(s, account, spec, actor=FACTORY_ACTOR)


async def _world(db: Database, clock: FrozenClock):  # type: ignore[no-untyped-def]
    async with db.session(write=True) as s:
        await _tariffs(s)
        a, _ = await make_account(s, kinds=())
        b, _ = await make_account(s, kinds=())
        c, _ = await make_account(s, kinds=())
        full = await _service(s, clock, a, at(2026, 9, 10, 9), "mobile", "MOB")
        # 13:00 in Moscow on 20 October: 12 days of October (20th to 31st).
        late = await _service(s, clock, a, at(2026, 10, 20, 10), "internet", "NET")
        closing = await _service(s, clock, a, at(2026, 9, 1, 9), "tv", "TV")
        clock.at = at(2026, 10, 10, 12)
        await accounts.change_service_status(
            s, closing, "closed", actor=FACTORY_ACTOR, reason="moved out"
        )
        await _service(s, clock, c, at(2026, 11, 2, 9), "mobile", "MOB")  # after October
        gone = await _service(s, clock, c, at(2026, 8, 1, 9), "mobile", "MOB")
        clock.at = at(2026, 9, 20, 9)
        await accounts.change_service_status(s, gone, "closed", actor=FACTORY_ACTOR, reason="x")
        await _service(s, clock, c, at(2026, 9, 1, 9), "mobile", "FREE")
        await _service(s, clock, c, at(2026, 9, 1, 9), "mobile", None)
        # 00:30 on 1 November in Moscow is still 31 October in UTC: not an October service.
        await _service(s, clock, c, at(2026, 10, 31, 21, 30), "mobile", "MOB")
        suspended = await _service(s, clock, b, at(2026, 9, 1, 9), "mobile", "MOB")
        await accounts.change_service_status(
            s, suspended, "suspended", actor=FACTORY_ACTOR, reason="debt", suspended_reason="debt"
        )
        clock.at = at(2026, 11, 18, 12)
        await pay(s, b, 10_000)
    return a, b, c, full, late, closing, suspended


def test_prorate_rounds_half_up_once() -> None:
    assert prorate(60_000, 12, 31) == 23_226  # 23 225.806…
    assert prorate(29_900, 10, 31) == 9_645  # 9 645.161…
    assert prorate(100, 1, 2) == 50
    assert prorate(1, 1, 2) == 1  # exactly half a kopeck rounds up
    assert prorate(45_000, 31, 31) == 45_000
    assert prorate(45_000, 40, 31) == 45_000


async def test_fees_for_a_period_exact(db: Database, clock: FrozenClock) -> None:
    a, b, _c, full, late, closing, suspended = await _world(db, clock)

    result = await run_fees(db, "2026-10", actor=ACTOR)

    assert (result.period, result.services, result.posted, result.already_there) == (
        "2026-10",
        4,
        4,
        0,
    )
    assert (result.total_minor, result.partial, result.allocated_minor) == (122_871, 2, 10_000)
    async with db.session() as s:
        items = (
            await s.execute(
                select(
                    OpenItem.external_id,
                    OpenItem.account_id,
                    OpenItem.service_id,
                    OpenItem.kind,
                    OpenItem.amount_minor,
                    OpenItem.remaining_minor,
                    OpenItem.period,
                    OpenItem.charged_on,
                    OpenItem.due_date,
                    OpenItem.description,
                )
                .where(OpenItem.side == "debit")
                .order_by(OpenItem.service_id)
            )
        ).all()
        assert [tuple(i) for i in items] == [
            (f"fee:{full.id}:2026-10", a.id, full.id, "fee", 45_000, 45_000, "2026-10",
             D(2026, 10, 1), D(2026, 10, 15), "Абонентская плата «Тариф MOB» за 2026-10"),
            (f"fee:{late.id}:2026-10", a.id, late.id, "fee", 23_226, 23_226, "2026-10",
             D(2026, 10, 20), D(2026, 11, 4),
             "Абонентская плата «Тариф NET» за 2026-10 (12 из 31 дн.)"),
            (f"fee:{closing.id}:2026-10", a.id, closing.id, "fee", 9_645, 9_645, "2026-10",
             D(2026, 10, 1), D(2026, 10, 15),
             "Абонентская плата «Тариф TV» за 2026-10 (10 из 31 дн.)"),
            (f"fee:{suspended.id}:2026-10", b.id, suspended.id, "fee", 45_000, 35_000,
             "2026-10", D(2026, 10, 1), D(2026, 10, 15),
             "Абонентская плата «Тариф MOB» за 2026-10"),
        ]  # fmt: skip
        entries = (
            await s.execute(
                select(
                    JournalEntry.account_id,
                    JournalEntry.kind,
                    JournalEntry.source,
                    JournalEntry.memo,
                )
                .where(JournalEntry.kind == "fee")
                .order_by(JournalEntry.account_id)
            )
        ).all()
        assert [tuple(e) for e in entries] == [
            (a.id, "fee", "fee:2026-10", "Абонентская плата за 2026-10"),
            (b.id, "fee", "fee:2026-10", "Абонентская плата за 2026-10"),
        ]
        legs = (
            await s.execute(
                select(Posting.account_id, Posting.ledger, Posting.amount_minor)
                .join(JournalEntry, JournalEntry.id == Posting.entry_id)
                .where(JournalEntry.kind == "fee")
                .order_by(Posting.account_id, Posting.ledger)
            )
        ).all()
        assert [tuple(x) for x in legs] == [
            (a.id, "revenue:internet", -23_226),
            (a.id, "revenue:mobile", -45_000),
            (a.id, "revenue:tv", -9_645),
            (a.id, "subscriber", 77_871),
            (b.id, "revenue:mobile", -45_000),
            (b.id, "subscriber", 45_000),
        ]
        balance_b = await s.get(AccountBalance, b.id)
        assert balance_b is not None
        assert (balance_b.balance_minor, balance_b.debt_minor) == (-35_000, 35_000)
        assert (await reconcile(s)).clean


async def test_running_a_period_again_posts_nothing(db: Database, clock: FrozenClock) -> None:
    await _world(db, clock)
    await run_fees(db, "2026-10", actor=ACTOR)
    async with db.session() as s:
        before = await snapshot(s)

    again = await run_fees(db, "2026-10", actor=ACTOR)

    assert (again.services, again.posted, again.already_there, again.total_minor) == (4, 0, 4, 0)
    async with db.session() as s:
        after = await snapshot(s)
    assert (after.balances, after.items, after.entries, after.postings) == (
        before.balances,
        before.items,
        before.entries,
        before.postings,
    )


async def test_a_later_run_picks_up_services_activated_since(
    db: Database, clock: FrozenClock
) -> None:
    b = (await _world(db, clock))[1]
    first = await run_fees(db, "2026-11", actor=ACTOR, batch_size=2)
    # November: full, late, suspended and the two November activations of account c.
    assert (first.services, first.posted, first.batches) == (5, 5, 3)
    async with db.session(write=True) as s:
        newcomer = await _service(s, clock, b, at(2026, 11, 18, 12), "internet", "NET")

    second = await run_fees(db, "2026-11", actor=ACTOR, batch_size=2)

    assert (second.services, second.posted, second.already_there) == (6, 1, 5)
    # 18th to 30th November: 13 of 30 days of 600.00.
    assert second.total_minor == 26_000
    async with db.session() as s:
        item = await s.scalar(
            select(OpenItem).where(OpenItem.external_id == f"fee:{newcomer.id}:2026-11")
        )
        assert item is not None and item.due_date == D(2026, 12, 3)
        assert (await reconcile(s)).clean


@pytest.mark.parametrize(
    ("period", "code"),
    [
        ("2026-13", "period_invalid"),
        ("26-11", "period_invalid"),
        ("2026/11", "period_invalid"),
        ("", "period_invalid"),
        ("1999-12", "period_invalid"),
        ("2026-12", "period_not_begun"),
    ],
)
async def test_a_bad_period_is_refused_and_changes_nothing(
    db: Database, clock: FrozenClock, period: str, code: str
) -> None:
    await _world(db, clock)
    async with db.session() as s:
        before = await snapshot(s)
    with pytest.raises(PeriodInvalid) as refused:
        await run_fees(db, period, actor=ACTOR)
    assert refused.value.code == code
    async with db.session() as s:
        assert await snapshot(s) == before
