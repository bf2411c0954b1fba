"""The ASGI application: JSON API, payment-agent protocol, acquiring, and the HTML pages."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp

from abonent import __version__
from abonent.api import health, ops, problems, ussd
from abonent.api.agents import osmp as agents
from abonent.api.edge import Edge
from abonent.api.lanes import AgentLane
from abonent.api.limits import BodySizeLimit
from abonent.api.statement_lane import StatementLane
from abonent.api.v1 import accounts as v1_accounts
from abonent.api.v1 import auth as v1_auth
from abonent.api.v1 import card_payments as acquiring
from abonent.api.v1 import collections as v1_collections
from abonent.api.v1 import customers as v1_customers
from abonent.api.v1 import disputes as v1_disputes
from abonent.api.v1 import lookup as v1_lookup
from abonent.api.v1 import me as v1_me
from abonent.api.v1 import me_cases as v1_me_cases
from abonent.api.v1 import me_history as v1_me_history
from abonent.api.v1 import me_money as v1_me_money
from abonent.api.v1 import notices as v1_notices
from abonent.api.v1 import payments as payments_api
from abonent.api.v1 import people as v1_people
from abonent.api.v1 import promised as v1_promised
from abonent.api.v1 import public as v1_public
from abonent.api.v1 import requests as v1_requests
from abonent.api.v1 import staff as v1_staff
from abonent.channels.sms import outbound
from abonent.channels.sms.gateway import gateway_from
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit import logs
from abonent.web import card_result, dev_sms, docs, home, sandbox
from abonent.web.cabinet import pages as cabinet
from abonent.web.console import app as console
from abonent.worker import housekeeping, notices_job, promised_job, settlement
from abonent.worker.relay import Relay, default_handlers

log = structlog.get_logger(__name__)


class _App(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's own error middleware, which re-raises after answering: see
        # api/edge.py. The read lanes that come in bulk (``*100#`` and the two statements)
        # sit right inside it, before Starlette's and FastAPI's own layers (error
        # middleware, telemetry, body limit, ours): for them those layers did nothing but cost
        # ~50 us of a ~620 us request (server CPU per *100#, one worker under wrk, measured in
        # alternating pairs). Neither needs them: the USSD lane caps the body it reads itself,
        # the statement lane reads none, both answer their own failures (or pass the request
        # on), and whatever still escapes is the Edge's. The agent lane stays behind the body
        # limit it relies on (api/limits.py).
        return Edge(ussd.UssdLane(StatementLane(super().build_middleware_stack())))


def create_app(database: Database | None = None) -> FastAPI:
    """Build the app. Tests pass their own ``database``; otherwise it comes from settings."""
    settings = get_settings()
    owned = database is None
    if owned:
        # A served app (uvicorn's factory, in every worker process) logs through the
        # redacting chain; tests and embedders keep the logging they set up.
        json = settings.log.json_lines
        logs.configure(
            json=settings.env == "production" if json is None else json, level=settings.log.level
        )
    db = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        if owned:
            _tune_gc()
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        if settings.worker.embedded:
            gateway = gateway_from(settings, on_receipt=outbound.receipt_recorder(db))
            relay = Relay(db, settings, default_handlers(settings, gateway, db))
            tasks.append(asyncio.create_task(relay.run_forever(stop), name="outbox-relay"))
            tasks.append(
                asyncio.create_task(
                    settlement.run_forever(
                        db,
                        settings,
                        stop,
                        provider=getattr(app_.state, "acquiring_provider", None),
                    ),
                    name="card-settlement",
                )
            )
            tasks.append(asyncio.create_task(promised_job.run_forever(db, settings, stop)))
            tasks.append(asyncio.create_task(notices_job.run_forever(db, settings, stop)))
            tasks.append(asyncio.create_task(housekeeping.run_forever(db, stop)))
        try:
            yield
        finally:
            stop.set()
            await _finish(tasks, settings.shutdown_grace_seconds)
            if owned:
                await db.dispose()

    app = _App(
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
    cabinet.install(app)
    console.install(app)
    app.include_router(health.router)
    app.include_router(ops.router)
    app.include_router(v1_me.hot, prefix="/v1")  # the subscriber's statement: matched early
    app.include_router(v1_customers.router, prefix="/v1")
    app.include_router(v1_accounts.router, prefix="/v1")
    app.include_router(v1_lookup.router, prefix="/v1")
    app.include_router(payments_api.router, prefix="/v1")
    app.include_router(v1_promised.router, prefix="/v1")
    app.include_router(v1_staff.router, prefix="/v1")
    app.include_router(v1_people.router, prefix="/v1")
    app.include_router(v1_disputes.router, prefix="/v1")
    app.include_router(v1_collections.router, prefix="/v1")
    app.include_router(v1_requests.router, prefix="/v1")
    app.include_router(v1_auth.router, prefix="/v1")
    app.include_router(v1_me.router, prefix="/v1")
    app.include_router(v1_me_cases.router, prefix="/v1")
    app.include_router(v1_me_history.router, prefix="/v1")
    app.include_router(v1_me_money.router, prefix="/v1")
    app.include_router(v1_public.router, prefix="/v1")
    app.include_router(v1_notices.router, prefix="/v1")
    app.include_router(acquiring.router)
    app.include_router(card_result.router)
    app.include_router(sandbox.router)
    app.include_router(dev_sms.router)
    app.include_router(agents.router)
    app.include_router(ussd.router)
    # The body limit is added last, so it is outermost: the agent lane's bodies are limited too.
    # (The USSD and statement lanes sit outside all of these: see _App.build_middleware_stack.)
    app.add_middleware(AgentLane)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    return app


async def _finish(tasks: list[asyncio.Task[None]], grace: float) -> None:
    """Let the jobs finish what they are doing (a send in progress completes and is
    recorded); a job still busy after ``grace`` seconds is cancelled, so shutdown ends."""
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        log.warning("shutdown.job_cancelled", job=task.get_name(), grace_seconds=grace)
        task.cancel()
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.error("shutdown.job_failed", job=task.get_name(), exc_info=task.exception())
    if pending:
        await asyncio.wait(pending)


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
