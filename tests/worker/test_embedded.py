"""`abonent serve --with-worker`: the app runs the outbox relay and the settlement job itself."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from abonent.app import create_app
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.models import OutboxMessage
from abonent.outbox.service import enqueue
from abonent.payments.acquiring.service import SettleSummary
from abonent.worker import settlement


async def test_the_embedded_worker_relays_and_settles_until_shutdown(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABONENT_WORKER__EMBEDDED", "true")
    monkeypatch.setenv("ABONENT_WORKER__POLL_SECONDS", "0.02")
    monkeypatch.setenv("ABONENT_WORKER__SETTLE_EVERY_SECONDS", "0.02")
    monkeypatch.setenv("ABONENT_SMS__GATEWAY", "memory")
    get_settings.cache_clear()
    runs = 0

    async def counted(*_args: object, **_kwargs: object) -> SettleSummary:
        nonlocal runs
        runs += 1
        return SettleSummary()

    monkeypatch.setattr(settlement, "settle", counted)
    async with db.session(write=True) as s:
        await enqueue(s, "sms.send", {"to": "+79161234567", "text": "Платёж зачислен"})
    app = create_app(db)
    try:
        async with app.router.lifespan_context(app):
            for _ in range(250):
                async with db.session() as s:
                    status = await s.scalar(select(OutboxMessage.status))
                if status != "pending" and runs >= 2:
                    break
                await asyncio.sleep(0.02)
            assert status == "done" and runs >= 2
        # Shut down: no job runs any more.
        stopped_at = runs
        await asyncio.sleep(0.1)
        assert runs == stopped_at
    finally:
        get_settings.cache_clear()
