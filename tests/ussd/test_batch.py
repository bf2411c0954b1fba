"""Concurrent *100# share their round trips (ussd.batch), and each still gets its own answer."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import OutboxMessage, UssdSession
from abonent.ussd import engine
from abonent.ussd.batch import Batcher
from abonent.ussd.service import UssdRequest, _step, answer
from tests.factories import charge, make_account
from tests.promised.helpers import D


async def test_each_caller_gets_its_own_result_in_shared_batches() -> None:
    batches: list[list[int]] = []
    running = peak = 0

    async def run(items: list[int]) -> list[int]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        batches.append(items)
        await asyncio.sleep(0.01)
        running -= 1
        return [i * 10 for i in items]

    batcher: Batcher[int, int] = Batcher(run, size=8, in_flight=2)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(40)))
    assert results == [i * 10 for i in range(40)]
    assert peak == 2
    assert max(len(b) for b in batches) == 8
    assert len(batches) < 40
    assert sorted(i for b in batches for i in b) == list(range(40))


async def test_a_failing_item_fails_alone() -> None:
    calls: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        calls.append(items)
        await asyncio.sleep(0)
        if 3 in items:
            raise ValueError("boom")
        return items

    batcher: Batcher[int, int] = Batcher(run, size=4, in_flight=1)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(8)), return_exceptions=True)
    assert results[:3] == [0, 1, 2]
    assert isinstance(results[3], ValueError)
    assert results[4:] == [4, 5, 6, 7]
    # The failed batch was tried again one item at a time; the next one was not affected.
    assert [0, 1, 2, 3] in calls and [3] in calls and [4, 5, 6, 7] in calls
    assert await batcher.submit(9) == 9


async def test_a_wrong_number_of_results_is_an_error_not_a_mix_up() -> None:
    async def run(items: list[int]) -> list[int]:
        return items[:-1]

    batcher: Batcher[int, int] = Batcher(run)
    results = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]


@pytest.mark.postgres_only
async def test_concurrent_dialogues_each_get_their_account_and_rows(
    db: Database, clock: FrozenClock
) -> None:
    settings = get_settings()
    phones: list[str] = []
    async with db.session(write=True) as s:
        for debt in (10_000, 25_050, 0):
            account, (sim,) = await make_account(s)
            if debt:
                await charge(s, account, debt, due=D(2026, 11, 10), service=sim)
            phones.append(sim.msisdn or "")
    # What each number's screen is, asked alone through the general path.
    expected = {}
    for n, phone in enumerate(phones):
        request = UssdRequest(f"alone{n}", phone, "*100#", "")
        expected[phone] = await db.run(lambda s, r=request: _step(s, settings, r))
    requests = [UssdRequest(f"c{i}", phones[i % 3], "*100#", "") for i in range(30)]
    # The same id twice at once: one new dialogue, one repeated id, never two of either.
    requests += [UssdRequest("twice", phones[0], "*100#", "")] * 2
    replies = await asyncio.gather(*(answer(db, settings, r) for r in requests))
    for request, reply in zip(requests[:30], replies[:30], strict=True):
        want = expected[request.msisdn]
        assert (reply.text, reply.end) == (want.text, want.end)
    twice = sorted(r.text for r in replies[30:])
    assert twice == sorted([expected[phones[0]].text, engine.REPEATED])
    async with db.session() as s:
        sessions = await s.scalar(
            select(func.count()).select_from(UssdSession).where(UssdSession.session_id.like("c%"))
        )
        sms = await s.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.dedupe_key.like("sms:ussd:c%"))
        )
        to = sorted(p["to"] for p in sms)
        assert (
            await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.dedupe_key == "sms:ussd:twice")
            )
            == 1
        )
    assert sessions == 30
    # Every *100# sends its details (ussd.details_by_sms), to the number that asked.
    assert all(expected[p].text.endswith("Детали в SMS") for p in phones)
    assert to == sorted(phones * 10)


@pytest.mark.postgres_only
async def test_one_request_that_cannot_be_written_fails_alone(
    db: Database, clock: FrozenClock
) -> None:
    settings = get_settings()
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 10_000, due=D(2026, 11, 10), service=sim)
        # The SMS of a session whose row was purged since: its key is taken.
        s.add(
            OutboxMessage(
                topic="sms.send",
                payload={},
                dedupe_key="sms:ussd:stale",
                status="done",
                attempts=1,
                available_at=clock.now(),
                created_at=clock.now(),
            )
        )
    phone = sim.msisdn or ""
    requests = [UssdRequest(f"n{i}", phone, "*100#", "") for i in range(6)]
    requests.insert(3, UssdRequest("stale", phone, "*100#", ""))
    replies = await asyncio.gather(*(answer(db, settings, r) for r in requests))
    texts = [r.text for r in replies]
    assert texts[3] == engine.UNAVAILABLE
    assert all(t.startswith("Долг 100,00 ₽") for t in texts[:3] + texts[4:])
    async with db.session() as s:
        assert await s.get(UssdSession, "stale") is None
        assert (
            await s.scalar(
                select(func.count())
                .select_from(UssdSession)
                .where(UssdSession.session_id.like("n%"))
            )
            == 6
        )
