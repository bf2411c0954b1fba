"""Graceful shutdown: a send in progress finishes (and is recorded) before the worker stops."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from abonent import app as app_module
from abonent.config import Settings, get_settings
from abonent.db.uow import Database
from abonent.models import OutboxMessage
from abonent.outbox.service import enqueue
from abonent.worker.relay import Relay


class SlowSend:
    """An SMS gateway call that takes as long as the test says."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.finished = 0

    async def __call__(self, _message: OutboxMessage) -> None:
        self.entered.set()
        await self.release.wait()
        self.finished += 1


async def _status(db: Database) -> str | None:
    async with db.session() as s:
        return await s.scalar(select(OutboxMessage.status))


async def _queue_one(db: Database) -> None:
    async with db.session(write=True) as s:
        await enqueue(s, "sms.send", {"to": "+79161234567", "text": "Платёж зачислен"})


async def test_the_relay_finishes_the_send_in_progress_before_it_stops(db: Database) -> None:
    await _queue_one(db)
    send = SlowSend()
    stop = asyncio.Event()
    relay = Relay(db, Settings(worker={"poll_seconds": 0.01}), {"sms.send": send})
    running = asyncio.create_task(relay.run_forever(stop))
    await asyncio.wait_for(send.entered.wait(), 10)
    stop.set()
    await asyncio.sleep(0.1)
    assert not running.done()  # stopping waits for the send
    send.release.set()
    await asyncio.wait_for(running, 10)
    assert send.finished == 1 and await _status(db) == "done"


async def test_the_apps_shutdown_waits_for_the_embedded_workers_send(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABONENT_WORKER__EMBEDDED", "true")
    monkeypatch.setenv("ABONENT_WORKER__POLL_SECONDS", "0.01")
    monkeypatch.setenv("ABONENT_WORKER__SETTLE_EVERY_SECONDS", "0")
    get_settings.cache_clear()
    send = SlowSend()
    monkeypatch.setattr(app_module, "default_handlers", lambda *_a: {"sms.send": send})
    await _queue_one(db)
    try:
        app = app_module.create_app(db)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        await asyncio.wait_for(send.entered.wait(), 10)
        shutting_down = asyncio.create_task(lifespan.__aexit__(None, None, None))
        await asyncio.sleep(0.1)
        assert not shutting_down.done()
        send.release.set()
        await asyncio.wait_for(shutting_down, 10)
    finally:
        get_settings.cache_clear()
    assert send.finished == 1 and await _status(db) == "done"


async def test_a_send_that_never_ends_is_cancelled_after_the_grace(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABONENT_WORKER__EMBEDDED", "true")
    monkeypatch.setenv("ABONENT_WORKER__POLL_SECONDS", "0.01")
    monkeypatch.setenv("ABONENT_WORKER__SETTLE_EVERY_SECONDS", "0")
    monkeypatch.setenv("ABONENT_SHUTDOWN_GRACE_SECONDS", "0.2")
    get_settings.cache_clear()
    send = SlowSend()
    monkeypatch.setattr(app_module, "default_handlers", lambda *_a: {"sms.send": send})
    await _queue_one(db)
    try:
        app = app_module.create_app(db)
        async with app.router.lifespan_context(app):
            await asyncio.wait_for(send.entered.wait(), 10)
    finally:
        get_settings.cache_clear()
    # Shutdown ended although the send never did; the message stays pending for a retry.
    assert send.finished == 0 and await _status(db) == "pending"
