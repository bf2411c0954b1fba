"""The contact gate end to end on the database: caps across day, week and month boundaries,
quiet hours in four time zones, weekends and holidays, blocks; deferral then release never
drops or doubles a notice."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from abonent.accounts import service as accounts
from abonent.contact import service as contact
from abonent.contact.errors import BlockInvalid, ContactRoleRefused
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock, use_clock
from abonent.kit.errors import InvalidInput
from abonent.models import (
    Account,
    AuditEvent,
    ContactBlock,
    ContactLogEntry,
    ContactMessage,
    Customer,
    DebtNotice,
    OutboxMessage,
)
from abonent.notices.errors import NothingOwed
from tests.factories import charge, make_account
from tests.notices.helpers import at, count, debtor, release, send, settings_with, sms_texts

COLLECTOR = Actor("staff:anna", "collections")
HOTLINE = Actor("staff:olga", "hotline")


async def test_notice_goes_now_with_the_exact_text(db: Database, clock: FrozenClock) -> None:
    account = await debtor(db)
    done = await send(db, account, "first", at(2026, 11, 18, 12))  # 15:00 in Moscow, a Wednesday
    assert done.outcome.verdict == "sent"
    [text] = await sms_texts(db)
    assert f"л/с ****{account.number[-4:]}" in text or account.number[-4:] in text
    assert account.number not in text
    assert "лицевой счёт — номер договора, не номер телефона" in text
    assert "1\u00a0050,00\u00a0₽" in text
    assert "оплатить до 28.11.2026" in text  # overdue: today + 10 days
    assert "мобильная связь" in text
    assert "8-800-250-08-90" in text
    async with db.session() as s:
        notice = await s.scalar(select(DebtNotice))
        assert notice is not None and notice.code_hash and notice.sent_at is not None
        assert notice.outbox_message_id is not None
        message = await s.get_one(OutboxMessage, notice.outbox_message_id)
        assert message.payload["category"] == "debt"
        # The code is in the SMS only: the notice keeps a keyed hash of it.
        from tests.notices.helpers import code_of

        assert code_of(text) not in (notice.code_hash or "")


async def test_asking_twice_sends_once_and_nothing_owed_is_refused(
    db: Database, clock: FrozenClock
) -> None:
    account = await debtor(db)
    now = at(2026, 11, 18, 12)
    await send(db, account, "first", now)
    again = await send(db, account, "first", now + dt.timedelta(hours=1))
    assert again.outcome.verdict == "unchanged"
    assert len(await sms_texts(db)) == 1
    async with db.session(write=True) as s:
        clean, _ = await make_account(s)
    before = await count(db, ContactMessage), await count(db, ContactLogEntry)
    with pytest.raises(NothingOwed):
        await send(db, clean, "first", now)
    assert (await count(db, ContactMessage), await count(db, ContactLogEntry)) == before


async def test_day_cap_is_rolling_across_midnight(db: Database, clock: FrozenClock) -> None:
    account = await debtor(db)
    evening = at(2026, 11, 18, 18)  # 21:00 Moscow
    assert (await send(db, account, "a", evening)).outcome.verdict == "sent"
    assert (await send(db, account, "b", evening)).outcome.verdict == "sent"
    morning = at(2026, 11, 19, 6)  # 09:00 Moscow, a new calendar day
    third = await send(db, account, "c", morning)
    assert third.outcome.verdict == "deferred"
    assert third.outcome.reason == "cap_day"
    assert third.outcome.at == evening + dt.timedelta(days=1)
    assert await release(db, morning + dt.timedelta(hours=2)) == []  # not due yet
    assert await release(db, evening + dt.timedelta(days=1)) == ["sent"]
    assert await release(db, evening + dt.timedelta(days=1, minutes=5)) == []
    assert len(await sms_texts(db)) == 3


async def test_week_cap_across_the_weekend(db: Database, clock: FrozenClock) -> None:
    account = await debtor(db)
    sunday = at(2026, 11, 22, 9)  # 12:00 Moscow, a Sunday
    for step in ("a", "b"):
        assert (await send(db, account, step, sunday)).outcome.verdict == "sent"
    monday = at(2026, 11, 23, 9, 30)
    for step in ("c", "d"):
        assert (await send(db, account, step, monday)).outcome.verdict == "sent"
    tuesday = at(2026, 11, 24, 10)
    fifth = await send(db, account, "e", tuesday)
    assert (fifth.outcome.verdict, fifth.outcome.reason) == ("deferred", "cap_week")
    assert fifth.outcome.at == sunday + dt.timedelta(days=7)


async def test_month_cap_across_the_month_boundary(db: Database, clock: FrozenClock) -> None:
    cfg = settings_with(per_day=1, per_week=100, per_month=3)
    account = await debtor(db)
    days = [at(2026, 11, 29), at(2026, 11, 30), at(2026, 12, 1)]
    for n, day in enumerate(days):
        assert (await send(db, account, f"s{n}", day, cfg)).outcome.verdict == "sent"
    fourth = await send(db, account, "s3", at(2026, 12, 2), cfg)
    # A calendar month would allow it (one so far in December); the rolling 31 days do not.
    assert (fourth.outcome.verdict, fourth.outcome.reason) == ("deferred", "cap_month")
    assert fourth.outcome.at == days[0] + dt.timedelta(days=31)


@pytest.mark.parametrize(
    ("zone", "utc_now", "verdict", "goes_at"),
    [
        # 04:30 UTC on a Wednesday: still night in the west, day in the east.
        ("Europe/Kaliningrad", at(2026, 11, 18, 4, 30), "deferred", at(2026, 11, 18, 6)),
        ("Europe/Moscow", at(2026, 11, 18, 4, 30), "deferred", at(2026, 11, 18, 5)),
        ("Asia/Novosibirsk", at(2026, 11, 18, 4, 30), "sent", None),
        ("Asia/Vladivostok", at(2026, 11, 18, 4, 30), "sent", None),
        # 19:30 UTC: evening in the west, the small hours in the east.
        ("Europe/Kaliningrad", at(2026, 11, 18, 19, 30), "sent", None),
        ("Europe/Moscow", at(2026, 11, 18, 19, 30), "deferred", at(2026, 11, 19, 5)),
        ("Asia/Novosibirsk", at(2026, 11, 18, 19, 30), "deferred", at(2026, 11, 19, 1)),
        ("Asia/Vladivostok", at(2026, 11, 18, 19, 30), "deferred", at(2026, 11, 18, 22)),
    ],
)
async def test_quiet_hours_in_four_zones(
    db: Database,
    clock: FrozenClock,
    zone: str,
    utc_now: dt.datetime,
    verdict: str,
    goes_at: dt.datetime | None,
) -> None:
    account = await debtor(db, tz=zone)
    done = await send(db, account, "first", utc_now)
    assert done.outcome.verdict == verdict
    if goes_at is not None:
        assert (done.outcome.reason, done.outcome.at) == ("quiet_hours", goes_at)
        assert await sms_texts(db) == []
        assert await release(db, goes_at - dt.timedelta(seconds=1)) == []
        assert await release(db, goes_at) == ["sent"]
    assert len(await sms_texts(db)) == 1
    async with db.session() as s:
        zones = set(await s.scalars(select(ContactLogEntry.zone)))
    assert zones == {zone}


@pytest.mark.parametrize(
    ("utc_now", "goes_at"),
    [
        (at(2026, 11, 4, 5, 30), at(2026, 11, 4, 6)),  # 04.11, Unity Day: 09:00, not 08:00
        (at(2026, 11, 21, 5, 30), at(2026, 11, 21, 6)),  # a Saturday, 08:30 Moscow
        (at(2026, 11, 22, 17, 30), at(2026, 11, 23, 5)),  # Sunday 20:30 → Monday 08:00
        (at(2027, 1, 2, 17, 30), at(2027, 1, 3, 6)),  # New Year holidays: 20:30 → 09:00
        (at(2026, 12, 31, 19, 30), at(2027, 1, 1, 6)),  # 31.12 22:30 → 01.01 09:00
    ],
)
async def test_weekends_and_holidays_keep_the_short_hours(
    db: Database, clock: FrozenClock, utc_now: dt.datetime, goes_at: dt.datetime
) -> None:
    account = await debtor(db)
    done = await send(db, account, "first", utc_now)
    assert (done.outcome.verdict, done.outcome.reason, done.outcome.at) == (
        "deferred",
        "quiet_hours",
        goes_at,
    )


async def test_a_block_holds_every_notice_until_lifted(db: Database, clock: FrozenClock) -> None:
    account = await debtor(db)
    async with db.session(write=True) as s:
        block = await contact.set_block(
            s, account.customer_id, kind="bankruptcy", reason="Заявление в АС", actor=COLLECTOR
        )
    now = at(2026, 11, 18, 12)
    done = await send(db, account, "first", now)
    assert (done.outcome.verdict, done.outcome.reason) == ("blocked", "bankruptcy")
    assert await release(db, now + dt.timedelta(days=3)) == []  # held, not pending
    assert await sms_texts(db) == []
    async with db.session(write=True) as s:
        await contact.lift_block(s, block.id, actor=COLLECTOR)
    assert await release(db, now + dt.timedelta(days=3)) == ["sent"]
    assert len(await sms_texts(db)) == 1
    assert await count(db, AuditEvent, AuditEvent.action == "contact.block") == 1
    assert await count(db, AuditEvent, AuditEvent.action == "contact.unblock") == 1


async def test_a_block_with_an_end_defers_to_its_end(db: Database, clock: FrozenClock) -> None:
    account = await debtor(db)
    now = at(2026, 11, 18, 12)
    until = at(2026, 11, 25, 12)
    async with db.session(write=True) as s:
        await contact.set_block(
            s,
            account.customer_id,
            kind="court_ban",
            reason="Определение суда",
            actor=COLLECTOR,
            until_at=until,
        )
    done = await send(db, account, "first", now)
    assert (done.outcome.verdict, done.outcome.at) == ("blocked", until)
    assert await release(db, until) == ["sent"]


async def test_block_refusals_change_nothing(db: Database, clock: FrozenClock) -> None:
    account = await debtor(db)
    for kwargs, error in (
        ({"kind": "holiday", "reason": "x", "actor": COLLECTOR}, BlockInvalid),
        ({"kind": "deceased", "reason": " ", "actor": COLLECTOR}, BlockInvalid),
        ({"kind": "deceased", "reason": "x", "actor": HOTLINE}, ContactRoleRefused),
    ):
        with pytest.raises(error):
            async with db.session(write=True) as s:
                await contact.set_block(s, account.customer_id, **kwargs)  # type: ignore[arg-type]
    assert await count(db, ContactBlock) == 0
    assert await count(db, AuditEvent, AuditEvent.action == "contact.block") == 0


async def test_release_twice_never_doubles(db: Database, clock: FrozenClock) -> None:
    accounts = [await debtor(db) for _ in range(5)]
    night = at(2026, 11, 18, 20)  # 23:00 Moscow
    for account in accounts:
        assert (await send(db, account, "first", night)).outcome.verdict == "deferred"
    opening = at(2026, 11, 19, 5)
    assert await release(db, opening) == ["sent"] * 5
    assert await release(db, opening) == []
    assert len(await sms_texts(db)) == 5
    assert await count(db, ContactLogEntry, ContactLogEntry.verdict == "sent") == 5


async def test_a_deferred_notice_paid_meanwhile_is_cancelled(
    db: Database, clock: FrozenClock
) -> None:
    from tests.factories import pay

    account = await debtor(db)
    night = at(2026, 11, 18, 20)
    await send(db, account, "first", night)
    async with db.session(write=True) as s:
        await pay(s, account, 105_000)
    assert await release(db, at(2026, 11, 19, 5)) == ["cancelled"]
    assert await sms_texts(db) == []
    assert await release(db, at(2026, 11, 19, 6)) == []


@pytest.mark.postgres_only
async def test_concurrent_releases_send_each_once_and_keep_the_caps(db: Database) -> None:
    with use_clock(FrozenClock(at(2026, 11, 18, 20))):
        many = [await debtor(db) for _ in range(12)]
        one = await debtor(db)
        night = at(2026, 11, 18, 20)
        for account in many:
            await send(db, account, "first", night)
        for step in ("a", "b", "c"):
            await send(db, one, step, night)  # three for one debtor; 2 a day may go
        opening = at(2026, 11, 19, 5)

        async def one_release() -> list[str]:
            return await release(db, opening)

        results = await asyncio.gather(*(one_release() for _ in range(4)))
    verdicts = [v for r in results for v in r]
    assert verdicts.count("sent") == 14
    assert len(await sms_texts(db)) == 14
    async with db.session() as s:
        pending = list(
            await s.scalars(select(ContactMessage).where(ContactMessage.status == "pending"))
        )
    assert len(pending) == 1 and pending[0].account_id == one.id
    async with db.session() as s:
        keys = list(await s.scalars(select(OutboxMessage.dedupe_key)))
    assert len(keys) == len(set(keys)) == 14


async def test_no_phone_is_refused_and_changes_nothing(db: Database, clock: FrozenClock) -> None:
    from abonent.contact.errors import NoPhone
    from tests.factories import charge

    async with db.session(write=True) as s:
        account, services = await make_account(s, kinds=("internet",))
        await charge(s, account, 10_000, due=dt.date(2026, 10, 10), service=services[0])
    before = (
        await count(db, ContactMessage),
        await count(db, ContactLogEntry),
        await count(db, DebtNotice),
        await count(db, OutboxMessage),
    )
    with pytest.raises(NoPhone):
        await send(db, account, "first", at(2026, 11, 18, 12))
    after = (
        await count(db, ContactMessage),
        await count(db, ContactLogEntry),
        await count(db, DebtNotice),
        await count(db, OutboxMessage),
    )
    assert after == before


async def _zone_debtor(
    db: Database, *, account_tz: str | None, customer_tz: str | None, phone: str
) -> Account:
    """A debtor with the zones (or none) staff set, whose notices go to ``phone``."""
    async with db.session(write=True) as s:
        account, services = await make_account(s)
        await charge(s, account, 105_000, due=dt.date(2026, 10, 10), service=services[0])
        customer = await s.get_one(Customer, account.customer_id)
        assert customer.timezone is None  # create_customer no longer fills the operator's in
        customer.timezone = customer_tz
        customer.contact_phone = phone
        fresh = await s.get_one(Account, account.id)
        if account_tz is not None:
            await accounts.set_timezone(s, fresh, account_tz, actor=COLLECTOR)
    return account


# 00:30 UTC on Wednesday 18 November 2026: 03:30 in Moscow, 07:30 in Novosibirsk, 10:30 in
# Vladivostok, 04:30 in Yekaterinburg.
EARLY = at(2026, 11, 18, 0, 30)


@pytest.mark.parametrize(
    ("account_tz", "customer_tz", "phone", "zone", "source", "goes_at"),
    [
        # The account's zone beats the holder's and the number's (a Moscow mobile): sent now.
        (
            "Asia/Vladivostok",
            "Europe/Kaliningrad",
            "+79161234567",
            "Asia/Vladivostok",
            "account",
            None,
        ),
        # No account zone: the holder's (Yekaterinburg opens at 03:00 UTC).
        (None, "Asia/Yekaterinburg", "+79161234567", "Asia/Yekaterinburg", "customer", (3, 0)),
        # No zone set: the mobile number's range (913 700 xxxx: Novosibirsk opens 01:00 UTC).
        (None, None, "+79137001234", "Asia/Novosibirsk", "def_code", (1, 0)),
        # A mobile range outside the table (999): only when every Russian zone allows it, from
        # 06:00 UTC (08:00 in Kaliningrad).
        (None, None, "+79991234567", "Europe/Kaliningrad..Asia/Kamchatka", "phone", (6, 0)),
        # Neither a zone nor a number with a region: the operator's (Moscow opens 05:00 UTC).
        (None, None, "+18005550100", "Europe/Moscow", "operator", (5, 0)),
    ],
)
async def test_zone_comes_from_account_holder_number_else_operator(
    db: Database,
    clock: FrozenClock,
    account_tz: str | None,
    customer_tz: str | None,
    phone: str,
    zone: str,
    source: str,
    goes_at: tuple[int, int] | None,
) -> None:
    account = await _zone_debtor(db, account_tz=account_tz, customer_tz=customer_tz, phone=phone)
    done = await send(db, account, "first", EARLY)
    if goes_at is None:
        assert done.outcome.verdict == "sent"
    else:
        opens = at(2026, 11, 18, *goes_at)
        assert (done.outcome.verdict, done.outcome.reason) == ("deferred", "quiet_hours")
        assert done.outcome.at == opens
        # Released a minute early it stays; at the opening it goes, in the same zone.
        assert await release(db, opens - dt.timedelta(minutes=1)) == []
        assert await release(db, opens) == ["sent"]
        assert len(await sms_texts(db)) == 1
    async with db.session() as s:
        entries = list(await s.scalars(select(ContactLogEntry).order_by(ContactLogEntry.id)))
    assert {(e.zone, e.zone_source) for e in entries} == {(zone, source)}


async def test_a_zone_that_is_not_iana_is_refused_and_nothing_changes(db: Database) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    with pytest.raises(InvalidInput) as refused:
        async with db.session(write=True) as s:
            fresh = await s.get_one(Account, account.id)
            await accounts.set_timezone(s, fresh, "Mars/Olympus", actor=COLLECTOR)
    assert refused.value.code == "timezone_invalid"
    async with db.session() as s:
        assert (await s.get_one(Account, account.id)).timezone is None
        events = await s.scalars(select(AuditEvent).where(AuditEvent.action == "account.timezone"))
        assert list(events) == []
