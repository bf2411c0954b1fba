"""/dev/sms and /dev/sms.json exist in development only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from abonent.app import create_app
from abonent.config import AcquiringSettings, Settings
from abonent.db.uow import Database
from abonent.sms import service as sms
from tests.sms.helpers import queue_sms


@pytest.fixture
async def app(db: Database) -> FastAPI:
    return create_app(db)


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_the_demo_sms_are_listed_in_development(db: Database, web: httpx.AsyncClient, clock):
    first = await queue_sms(db, "+79161234567", "Код подтверждения: 4711.")
    await queue_sms(db, "+79260000001", "Платёж <500,00 ₽> зачислен")
    await db.run(
        lambda s: sms.record_sent(
            s, outbox_message_id=first, to="+79161234567", category="service",
            gateway_message_ids=("mem-1",),
        )
    )  # fmt: skip
    data = (await web.get("/dev/sms.json")).json()["messages"]
    assert [(m["to"], m["text"], m["relay"], m["status"]) for m in data] == [
        ("+7 926 ***-**-01", "Платёж <500,00 ₽> зачислен", "pending", None),
        ("+7 916 ***-**-67", "Код подтверждения: 4711.", "pending", "sent"),
    ]
    page = await web.get("/dev/sms")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Код подтверждения: 4711." in page.text
    assert "Платёж &lt;500,00 ₽&gt; зачислен" in page.text  # escaped
    assert "+7 916 ***-**-67" in page.text and "+79161234567" not in page.text


async def test_nothing_there_outside_development(
    db: Database, app: FastAPI, web: httpx.AsyncClient
):
    await queue_sms(db, "+79161234567", "Код подтверждения: 4711.")
    app.state.settings = Settings(
        env="production",
        pii_key=SecretStr("k1"),
        pii_hash_key=SecretStr("k2"),
        acquiring=AcquiringSettings(webhook_secret=SecretStr("k3")),
    )
    for path in ("/dev/sms", "/dev/sms.json"):
        response = await web.get(path)
        assert response.status_code == 404
        assert "4711" not in response.text
