"""The worker settles card payments by itself, every worker.settle_every_seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.payments.acquiring.sandbox import SandboxProvider
from abonent.worker import settlement
from tests.factories import api_key
from tests.payments.acquiring.helpers import card, start
from tests.payments.api.helpers import account_with_debt, balance


async def _until(predicate: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "the job did not get there"
        await asyncio.sleep(0.02)


async def test_the_job_books_a_timed_out_payment_the_bank_confirmed(
    db: Database,
    web: httpx.AsyncClient,
    card_app: FastAPI,
    sandbox: SandboxProvider,
    clock: FrozenClock,
) -> None:
    account = await account_with_debt(db, 30_000)
    data = await start(web, await api_key(db, "integration"), account, 50_000)
    await web.post(f"/sandbox/acquiring/{data['provider_ref']}/pay", data={"action": "timeout"})
    await sandbox.resolve(data["provider_ref"], "succeeded")
    settings = card_app.state.settings.model_copy(deep=True)
    settings.worker.settle_every_seconds = 0.05
    settings.worker.settle_pending_after_minutes = 0
    stop = asyncio.Event()
    job = asyncio.create_task(settlement.run_forever(db, settings, stop, provider=sandbox))

    async def booked() -> bool:
        return (await card(db, data["id"])).status == "succeeded"

    await _until(booked)
    stop.set()
    await asyncio.wait_for(job, 5)
    assert await balance(db, account) == (20_000, 0)


async def test_a_failing_run_is_logged_and_the_next_one_still_comes(
    db: Database, card_app: FastAPI, sandbox: SandboxProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    async def broken(*_args: object, **_kwargs: object) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("acquirer unreachable")

    monkeypatch.setattr(settlement, "settle", broken)
    settings = card_app.state.settings.model_copy(deep=True)
    settings.worker.settle_every_seconds = 0.01
    stop = asyncio.Event()
    job = asyncio.create_task(settlement.run_forever(db, settings, stop, provider=sandbox))

    async def twice() -> bool:
        return calls >= 2

    await _until(twice)
    stop.set()
    await asyncio.wait_for(job, 5)
    assert not job.cancelled() and job.exception() is None


async def test_zero_interval_means_no_job(db: Database, card_app: FastAPI) -> None:
    settings = card_app.state.settings.model_copy(deep=True)
    settings.worker.settle_every_seconds = 0
    # Returns at once, without even building a provider.
    await asyncio.wait_for(settlement.run_forever(db, settings, asyncio.Event()), 1)


async def test_a_misconfigured_acquirer_ends_the_job_quietly(
    db: Database, card_app: FastAPI
) -> None:
    settings = card_app.state.settings.model_copy(deep=True)
    settings.acquiring.provider = "no-such-bank"
    # The relay beside it keeps running: this returns instead of raising.
    await asyncio.wait_for(settlement.run_forever(db, settings, asyncio.Event()), 1)
