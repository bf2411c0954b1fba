"""The ASGI application: JSON API, payment-agent protocol, acquiring, and (later) web pages."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from abonent import __version__
from abonent.api import health, problems, ussd
from abonent.api.agents import osmp as agents
from abonent.api.lanes import AgentLane
from abonent.api.limits import BodySizeLimit
from abonent.api.v1 import accounts as v1_accounts
from abonent.api.v1 import card_payments as acquiring
from abonent.api.v1 import customers as v1_customers
from abonent.api.v1 import lookup as v1_lookup
from abonent.api.v1 import payments as payments_api
from abonent.api.v1 import promised as v1_promised
from abonent.channels.sms.gateway import gateway_from
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.web import docs, home, sandbox
from abonent.worker import promised_job, settlement
from abonent.worker.relay import Relay, default_handlers


def create_app(database: Database | None = None) -> FastAPI:
    """Build the app. Tests pass their own ``database``; otherwise it comes from settings."""
    settings = get_settings()
    owned = database is None
    db = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        if owned:
            _tune_gc()
        stop = asyncio.Event()
        tasks = []
        if settings.worker.embedded:
            relay = Relay(db, settings, default_handlers(settings, gateway_from(settings)))
            tasks.append(asyncio.create_task(relay.run_forever(stop)))
            tasks.append(
                asyncio.create_task(
                    settlement.run_forever(
                        db,
                        settings,
                        stop,
                        provider=getattr(app_.state, "acquiring_provider", None),
                    )
                )
            )
            tasks.append(asyncio.create_task(promised_job.run_forever(db, settings, stop)))
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                await task
            if owned:
                await db.dispose()

    app = FastAPI(
        title="Abonent",
        version=__version__,
        summary="Personal accounts, ledger, statement and payments of a telecom operator",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.db = db
    app.state.settings = settings
    problems.install(app)
    app.include_router(home.router)
    docs.install(app)
    app.include_router(health.router)
    app.include_router(v1_customers.router, prefix="/v1")
    app.include_router(v1_accounts.router, prefix="/v1")
    app.include_router(v1_lookup.router, prefix="/v1")
    app.include_router(payments_api.router, prefix="/v1")
    app.include_router(v1_promised.router, prefix="/v1")
    app.include_router(acquiring.router)
    app.include_router(sandbox.router)
    app.include_router(agents.router)
    app.include_router(ussd.router)
    # The body limit is added last, so it is outermost: the agent lane's bodies are limited too.
    app.add_middleware(AgentLane)
    app.add_middleware(ussd.UssdLane)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    return app


# Python's default collects its youngest generation every 700 container allocations, and a
# request that loads ORM objects makes thousands. Freezing what start-up built and collecting far
# less often measured, with bench/probe_osmp_cpu.py on one worker (medians of several runs),
# 1.46 -> 1.29 ms of server CPU per OSMP payment; the cost is a few more MB between
# collections. Only a served app (one that owns its database) changes this process-wide
# setting; tests keep the default.
_GC_THRESHOLDS = (20_000, 20, 20)


def _tune_gc() -> None:
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)
