"""An app whose sandbox acquirer delivers its webhooks into the app itself, in process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from abonent.app import create_app
from abonent.db.uow import Database
from abonent.payments.acquiring import service as cards
from abonent.payments.acquiring.sandbox import SandboxProvider


@pytest.fixture
async def card_app(db: Database) -> FastAPI:
    app = create_app(db)
    app.state.acquiring_provider = cards.build_provider(
        db, app.state.settings, transport=httpx.ASGITransport(app=app)
    )
    return app


@pytest.fixture
def sandbox(card_app: FastAPI) -> SandboxProvider:
    provider = card_app.state.acquiring_provider
    assert isinstance(provider, SandboxProvider)
    return provider


@pytest.fixture
async def web(card_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=card_app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c
