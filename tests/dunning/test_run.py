"""The nightly run: each step on its exact date, per-service suspension, the stoppers, versions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.disputes import service as disputes
from abonent.dunning.errors import NoLadder
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.kit.errors import InvalidInput
from abonent.models import (
    Account,
    AssignmentItem,
    AuditEvent,
    CollectionAssignment,
    DunningItem,
    DunningLadder,
    OutboxMessage,
    ServiceStatusChange,
    WriteOffRequest,
)
from abonent.promised import service as promised
from tests.dunning.helpers import (
    DUE,
    LADDER,
    OFFSETS,
    agency,
    debtor,
    load,
    notices,
    progress,
    run,
    statuses,
)
from tests.factories import pay
from tests.promised.helpers import subscriber

D = dt.date
DAY = dt.timedelta(days=1)
EXPECTED = {
    "remind": "notified",
    "notice_1": "notified",
    "notice_2": "notified",
    "suspend": "suspended",
    "hand_over": "handed_over",
    "court_package": "court_ready",
    "write_off": "write_off_proposed",
}


@pytest.mark.parametrize("step", list(OFFSETS))
@pytest.mark.parametrize("when", ["day_before", "day_of", "day_after"])
async def test_each_step_on_its_exact_date(
    db: Database, clock: FrozenClock, step: str, when: str
) -> None:
    await load(db)
    await agency(db)
    account, services, (item,) = await debtor(db)
    shift = {"day_before": -1, "day_of": 0, "day_after": 1}[when]
    day = DUE + dt.timedelta(days=OFFSETS[step] + shift)
    summary = await run(db, day)
    done = {s: (o, d) for i, s, o, d in await progress(db) if i == item}
    if when == "day_before":
        assert step not in done
    else:
        outcome, on = done[step]
        assert on == day
        # A notice overtaken in the same run by a later one is recorded, not sent.
        later_notice = step in ("remind", "notice_1") and any(
            n in done and OFFSETS[n] > OFFSETS[step] for n in ("notice_1", "notice_2")
        )
        assert outcome == ("superseded" if later_notice else EXPECTED[step])
    # Exactly the steps whose offset has come, each once.
    assert sorted(done) == sorted(s for s, off in OFFSETS.items() if DUE + dt.timedelta(off) <= day)
    assert summary.done == len(done)
    # Only the latest notice due is sent, once.
    sent = await notices(db)
    due_notices = [n for n in ("remind", "notice_1", "notice_2") if n in done]
    assert [k for k, _ in sent] == (
        [f"dunning.notice:{account.id}:{due_notices[-1]}:{day}"] if due_notices else []
    )
    suspended = DUE + dt.timedelta(OFFSETS["suspend"]) <= day
    assert await statuses(db, services) == (["suspended"] if suspended else ["active"])
    # A second run on the same day does nothing more.
    again = await run(db, day)
    assert again.done == 0
    assert len(await progress(db)) == len(done)
    assert len(await notices(db)) == len(sent)


async def test_a_walk_down_the_ladder_night_by_night(db: Database, clock: FrozenClock) -> None:
    await load(db)
    await agency(db)
    account, services, (item,) = await debtor(db)
    day = DUE - dt.timedelta(days=5)
    while day <= DUE + dt.timedelta(days=366):
        await run(db, day)
        day += DAY
    rows = await progress(db)
    assert [(s, o) for _, s, o, _ in rows] == sorted((s, EXPECTED[s]) for s in OFFSETS)
    assert {s: d for _, s, _, d in rows} == {
        s: DUE + dt.timedelta(days=off) for s, off in OFFSETS.items()
    }
    sent = await notices(db)
    assert [k for k, _ in sent] == [
        f"dunning.notice:{account.id}:remind:2026-11-07",
        f"dunning.notice:{account.id}:notice_1:2026-11-11",
        f"dunning.notice:{account.id}:notice_2:2026-11-20",
    ]
    assert sent[0][1] == {
        "step": "remind",
        "action": "remind",
        "open_item_ids": [item],
        "service_ids": [services[0].id],
        "amount_minor": 50_000,
        "due_date": "2026-11-10",
        "run_date": "2026-11-07",
    }
    async with db.session() as s:
        assignments = (await s.scalars(select(CollectionAssignment))).all()
        assert [(a.account_id, a.amount_minor, a.handed_over_on) for a in assignments] == [
            (account.id, 50_000, DUE + dt.timedelta(days=60))
        ]
        requests = (await s.scalars(select(WriteOffRequest))).all()
        assert [(r.account_id, r.amount_minor, r.status) for r in requests] == [
            (account.id, 50_000, "requested")
        ]
        court = await s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "dunning.court_ready")
        )
        assert court == 1
        suspended = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.topic == "service.suspended")
        )
        assert suspended == 1
        # The account itself is never suspended: only its service.
        fresh = await s.get(Account, account.id)
        assert fresh is not None and fresh.status == "active"


async def test_suspension_is_of_the_overdue_service_only(db: Database, clock: FrozenClock) -> None:
    await load(db)
    # Internet and TV owe; the SIM owes nothing and keeps working.
    account, services, _items = await debtor(
        db,
        kinds=("mobile", "internet", "tv"),
        charges=((1, 40_000, DUE), (2, 30_000, DUE)),
    )
    await run(db, DUE + dt.timedelta(days=20))
    assert await statuses(db, services) == ["active", "suspended", "active"]
    # TV's own offset (by_kind) is day 30: the day before, still on; on the day, suspended.
    await run(db, DUE + dt.timedelta(days=29))
    assert await statuses(db, services) == ["active", "suspended", "active"]
    await run(db, DUE + dt.timedelta(days=30))
    assert await statuses(db, services) == ["active", "suspended", "suspended"]
    async with db.session() as s:
        changes = (
            await s.execute(
                select(ServiceStatusChange.service_id, ServiceStatusChange.to_status).order_by(
                    ServiceStatusChange.id
                )
            )
        ).all()
        fresh = await s.get(Account, account.id)
    assert changes == [(services[1].id, "suspended"), (services[2].id, "suspended")]
    assert fresh is not None and fresh.status == "active"


async def test_an_account_level_item_suspends_nothing(db: Database, clock: FrozenClock) -> None:
    await load(db)
    from tests.factories import charge, make_account

    async with db.session(write=True) as s:
        account, services = await make_account(s)
        posted = await charge(s, account, 10_000, due=DUE)
    await run(db, DUE + dt.timedelta(days=20))
    assert ("suspend", "no_service") in {(s, o) for _, s, o, _ in await progress(db)}
    assert await statuses(db, services) == ["active"]
    assert posted.item is not None


async def test_a_payment_stops_the_ladder(db: Database, clock: FrozenClock) -> None:
    await load(db)
    account, services, (paid, owed) = await debtor(
        db, kinds=("mobile", "internet"), charges=((0, 20_000, DUE), (1, 30_000, DUE))
    )
    await run(db, DUE + DAY)
    async with db.session(write=True) as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        await pay(s, fresh, 20_000)  # clears the older item first: the SIM's
    await run(db, DUE + dt.timedelta(days=10))
    await run(db, DUE + dt.timedelta(days=20))
    steps = {(i, s) for i, s, _, _ in await progress(db)}
    assert (paid, "notice_2") not in steps and (paid, "suspend") not in steps
    assert (owed, "notice_2") in steps and (owed, "suspend") in steps
    assert await statuses(db, services) == ["active", "suspended"]


async def test_an_open_dispute_holds_its_item_back(db: Database, clock: FrozenClock) -> None:
    await load(db)
    account, services, (disputed, plain) = await debtor(
        db, kinds=("mobile", "internet"), charges=((0, 20_000, DUE), (1, 30_000, DUE))
    )
    async with db.session(write=True) as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        await disputes.file_dispute(
            s,
            fresh,
            claims={disputed: None},
            text="Не пользовался",
            channel="desk",
            actor=Actor("staff:1:clerk", "clerk"),
        )
    summary = await run(db, DUE + dt.timedelta(days=20))
    assert summary.stopped["dispute"] == 1
    items = {i for i, _, _, _ in await progress(db)}
    assert items == {plain}
    assert await statuses(db, services) == ["active", "suspended"]


async def test_a_promised_payment_holds_the_account_for_its_term(
    db: Database, clock: FrozenClock
) -> None:
    await load(db)
    account, _ = await subscriber(db, clock)  # 250,00 ₽ overdue since 10.11.2026
    clock.at = dt.datetime(2026, 11, 18, 12, tzinfo=dt.UTC)
    async with db.session(write=True) as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        taken = await promised.take(
            s, fresh, 10_000, channel="api", actor=Actor("test-clerk", "clerk")
        )
        assert taken.promised.due_date == D(2026, 11, 21)
    for day in (D(2026, 11, 18), D(2026, 11, 21)):
        summary = await run(db, day)
        assert summary.done == 0 and summary.stopped["promised"] >= 1
    summary = await run(db, D(2026, 11, 22))
    assert summary.stopped["promised"] == 0
    steps = {s for _, s, _, _ in await progress(db)}
    assert {"notice_1", "notice_2"} <= steps


async def test_an_item_keeps_the_ladder_version_it_started_on(
    db: Database, clock: FrozenClock
) -> None:
    first = await load(db)
    _a, _s, (old,) = await debtor(db)
    await run(db, DUE + DAY)  # old starts on the first version (notice_1)
    faster = LADDER.replace("offset_days = 10\n", "offset_days = 5\n")
    second = await load(db, faster, "faster.toml")
    assert second == first + 1
    later = DUE + dt.timedelta(days=4)
    _a2, _s2, (new,) = await debtor(db, charges=((0, 10_000, later),))
    await run(db, later + dt.timedelta(days=5))  # = DUE + 9
    steps = {(i, s) for i, s, _, _ in await progress(db)}
    assert (new, "notice_2") in steps  # the new version: day 5
    assert (old, "notice_2") not in steps  # the old one: day 10
    await run(db, DUE + dt.timedelta(days=10))
    assert (old, "notice_2") in {(i, s) for i, s, _, _ in await progress(db)}
    async with db.session() as s:
        versions = dict(
            (await s.execute(select(DunningItem.open_item_id, DunningItem.ladder_id))).all()
        )
    assert versions == {old: first, new: second}


async def test_hand_over_waits_for_an_agency(db: Database, clock: FrozenClock) -> None:
    await load(db)
    _account, _s, (item,) = await debtor(db)
    day = DUE + dt.timedelta(days=60)
    summary = await run(db, day)
    assert summary.waiting_for_agency == 1
    assert "hand_over" not in {s for _, s, _, _ in await progress(db)}
    await agency(db)
    summary = await run(db, day)
    assert summary.steps[("hand_over", "handed_over")] == 1
    async with db.session() as s:
        assert await s.scalar(select(AssignmentItem.open_item_id)) == item


async def test_court_and_write_off_wait_for_the_hand_over(db: Database, clock: FrozenClock) -> None:
    """A debt passes the agency stage before the court and the write-off: with no agency to
    take the hand-over, both wait unrecorded (no court-ready mark, no write-off proposed) and
    are done by the run that hands the item over."""
    await load(db)
    account, _services, (item,) = await debtor(db)
    day = DUE + dt.timedelta(days=OFFSETS["write_off"])
    waiting = await run(db, day)
    assert (waiting.waiting_for_agency, waiting.waiting_for_hand_over) == (1, 2)
    steps = {s for _, s, _, _ in await progress(db)}
    assert steps == {"remind", "notice_1", "notice_2", "suspend"}

    async def later_stages() -> tuple[int, int, int]:
        async with db.session() as s:
            return (
                await s.scalar(select(func.count()).select_from(WriteOffRequest)) or 0,
                await s.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "dunning.court_ready")
                )
                or 0,
                await s.scalar(select(func.count()).select_from(CollectionAssignment)) or 0,
            )

    assert await later_stages() == (0, 0, 0)
    again = await run(db, day)  # still no agency: still waiting, nothing recorded
    assert (again.done, again.waiting_for_hand_over) == (0, 2)
    assert await later_stages() == (0, 0, 0)

    await agency(db)
    done = await run(db, day)
    assert done.steps == {
        ("hand_over", "handed_over"): 1,
        ("court_package", "court_ready"): 1,
        ("write_off", "write_off_proposed"): 1,
    }
    assert (done.waiting_for_agency, done.waiting_for_hand_over) == (0, 0)
    assert await later_stages() == (1, 1, 1)
    assert {(i, s) for i, s, _, _ in await progress(db)} >= {
        (item, "hand_over"),
        (item, "court_package"),
        (item, "write_off"),
    }
    async with db.session() as s:
        assert await s.scalar(select(WriteOffRequest.account_id)) == account.id


async def test_court_waits_only_for_a_hand_over_its_item_has(
    db: Database, clock: FrozenClock
) -> None:
    """A hand-over step for internet only: the SIM's charge has none, so its court step does
    not wait; the internet charge's does, while no agency takes it."""
    only_internet = LADDER.replace(
        'action = "hand_over"\noffset_days = 60\n',
        'action = "hand_over"\noffset_days = 60\nkinds = ["internet"]\n',
    )
    assert only_internet != LADDER
    await load(db, only_internet, "internet.toml")
    _account, _services, (sim, line) = await debtor(
        db, kinds=("mobile", "internet"), charges=((0, 20_000, DUE), (1, 30_000, DUE))
    )
    summary = await run(db, DUE + dt.timedelta(days=OFFSETS["court_package"]))
    assert (summary.waiting_for_agency, summary.waiting_for_hand_over) == (1, 1)
    later = {(i, s, o) for i, s, o, _ in await progress(db) if s in ("hand_over", "court_package")}
    assert later == {(sim, "court_package", "court_ready")}
    assert line not in {i for i, s, _, _ in await progress(db) if s == "court_package"}


async def test_no_ladder_is_refused(db: Database) -> None:
    async with db.session(write=True) as s:
        from sqlalchemy import delete

        from abonent.models import DunningStep

        await s.execute(delete(DunningStep))
        await s.execute(delete(DunningLadder))
    with pytest.raises(NoLadder):
        await run(db, DUE)


async def test_small_batches_do_the_same_as_one(db: Database, clock: FrozenClock) -> None:
    await load(db)
    await agency(db)
    for n in range(7):
        await debtor(db, charges=((0, 10_000 + n, DUE - dt.timedelta(days=n * 13)),))
    day = DUE + dt.timedelta(days=70)
    summary = await run(db, day, batch_accounts=2)
    assert summary.batches >= 4
    rows = await progress(db)
    again = await run(db, day, batch_accounts=1000)
    assert again.done == 0 and await progress(db) == rows
    assert summary.done == len(rows)


async def test_units_side_by_side_do_each_step_once(db: Database, clock: FrozenClock) -> None:
    """Four units at a time over one-account ranges (one at a time on SQLite): every debtor
    gets exactly its due steps, each once, whatever unit finished first."""
    await load(db)
    await agency(db)
    day = DUE + dt.timedelta(days=70)
    made = []
    for n in range(9):
        due = DUE - dt.timedelta(days=n * 13)
        account, services, (item,) = await debtor(db, charges=((0, 10_000 + n, due),))
        made.append((item, due, services, account.id))
    summary = await run(db, day, batch_accounts=1, workers=4)
    assert summary.batches >= 9
    rows = await progress(db)
    expected = []
    for item, due, _services, _account_id in made:
        reached = [s for s, off in OFFSETS.items() if due + dt.timedelta(off) <= day]
        notices_reached = [s for s in reached if s in ("remind", "notice_1", "notice_2")]
        for step in reached:
            superseded = step in notices_reached and step != notices_reached[-1]
            expected.append((item, step, "superseded" if superseded else EXPECTED[step], day))
    assert rows == sorted(expected)
    assert summary.done == len(rows)
    keys = sorted(k for k, _ in await notices(db))
    assert keys == sorted(f"dunning.notice:{a}:notice_2:{day}" for _, _, _, a in made)
    for _item, _due, services, _account_id in made:
        assert await statuses(db, services) == ["suspended"]
    again = await run(db, day, batch_accounts=1, workers=4)
    assert again.done == 0 and await progress(db) == rows


@pytest.mark.parametrize("workers", [0, 9, True])
async def test_workers_out_of_range_are_refused(db: Database, workers: int) -> None:
    await load(db)
    await debtor(db)
    with pytest.raises(InvalidInput) as refused:
        await run(db, DUE + dt.timedelta(days=30), workers=workers)
    assert refused.value.code == "workers_invalid"
    assert await progress(db) == []
