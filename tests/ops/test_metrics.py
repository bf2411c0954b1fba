"""``/metrics``: Prometheus text, bounded labels, scrape-time outbox figures, who may read it."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit import clock, metrics
from abonent.models import OutboxMessage, SmsMessage
from abonent.outbox.service import enqueue
from tests.factories import api_key, auth, make_account


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def booked(source: str) -> float:
    return (
        metrics.REGISTRY.get_sample_value("abonent_payments_booked_total", {"source": source}) or 0
    )


async def test_requests_are_counted_by_route_template_not_raw_path(
    http: httpx.AsyncClient,
) -> None:
    for number in ("100000000001", "100000000002"):
        await http.get(f"/v1/accounts/{number}")
    r = await http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    found = samples(r.text)
    counted = [
        labels
        for (name, labels) in found
        if name == "abonent_http_requests_total" and ("method", "GET") in labels
    ]
    routes = {dict(labels)["route"] for labels in counted}
    assert "/v1/accounts/{number}" in routes
    assert not any("100000000001" in route for route in routes)
    assert any(name == "abonent_http_request_duration_seconds_bucket" for name, _ in found)


async def test_outbox_depth_age_sms_status_and_pool_are_read_at_scrape_time(
    db: Database, http: httpx.AsyncClient
) -> None:
    async with db.session(write=True) as s:
        await enqueue(s, "sms.send", {"to": "+79161234567", "text": "Платёж зачислен"})
        await enqueue(s, "sms.send", {"to": "+79161234568", "text": "Платёж зачислен"})
        await enqueue(s, "payment.booked", {"payment_id": 1})
    async with db.session(write=True) as s:
        message = await s.get(OutboxMessage, 1)
        assert message is not None
        message.status = "dead"
        for n, status in enumerate(("sent", "sent", "delivered", "failed")):
            s.add(
                SmsMessage(
                    to_msisdn=f"7916000000{n}",
                    category="service",
                    status=status,
                    parts=1,
                    created_at=clock.now(),
                )
            )
    found = samples((await http.get("/metrics")).text)
    # SMS are counted from sms_messages (what the network said), not from outbox rows.
    sms = {
        dict(labels)["status"]: value
        for (name, labels), value in found.items()
        if name == "abonent_sms_messages"
    }
    assert sms == {
        "queued": 0,
        "sent": 2,
        "delivered": 1,
        "undeliverable": 0,
        "expired": 0,
        "failed": 1,
    }
    assert found[("abonent_outbox_depth", ())] == 2
    assert found[("abonent_outbox_oldest_pending_age_seconds", ())] >= 0
    assert ("abonent_db_pool_connections", (("state", "checked_out"),)) in found


async def test_payments_booked_count_by_source_kind_once_committed(
    db: Database, http: httpx.AsyncClient
) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    key = await api_key(db, "integration")
    before = booked("api")
    r = await http.post(
        "/v1/payments",
        json={
            "account_number": account.number,
            "amount_minor": 10_000,
            "currency": "RUB",
            "method": "api",
        },
        headers={**auth(key), "Idempotency-Key": "m-1"},
    )
    assert r.status_code == 201, r.text
    assert booked("api") == before + 1
    # The stored replay books nothing.
    await http.post(
        "/v1/payments",
        json={
            "account_number": account.number,
            "amount_minor": 10_000,
            "currency": "RUB",
            "method": "api",
        },
        headers={**auth(key), "Idempotency-Key": "m-1"},
    )
    assert booked("api") == before + 1


async def test_a_rolled_back_booking_is_not_counted(db: Database) -> None:
    before = booked("rolledback")

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with db.session(write=True) as s:
            metrics.payment_booked(s, "rolledback:x")
            raise Abort
    assert booked("rolledback") == before
    async with db.session(write=True) as s:
        metrics.payment_booked(s, "rolledback:x")
    assert booked("rolledback") == before + 1


@pytest.fixture
def metrics_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    get_settings.cache_clear()
    yield monkeypatch  # type: ignore[misc]
    get_settings.cache_clear()


async def test_metrics_are_not_public(db: Database, metrics_env: pytest.MonkeyPatch) -> None:
    metrics_env.setenv("ABONENT_METRICS__ALLOW", "10.0.0.0/8, 192.0.2.7")
    metrics_env.setenv("ABONENT_METRICS__TOKEN", "scrape-token-123456")
    get_settings.cache_clear()
    from abonent.app import create_app

    app: FastAPI = create_app(db)

    async def get(client: tuple[str, int], **headers: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get("/metrics", headers=headers)

    stranger = await get(("127.0.0.1", 1))
    assert stranger.status_code == 404
    assert stranger.headers["content-type"] == "application/problem+json"
    assert (await get(("10.1.2.3", 1))).status_code == 200
    assert (await get(("192.0.2.7", 1))).status_code == 200
    proxied = await get(("10.1.2.3", 1), **{"X-Forwarded-For": "198.51.100.1"})
    assert proxied.status_code == 404
    assert (
        await get(("198.51.100.1", 1), Authorization="Bearer scrape-token-123456")
    ).status_code == 200
    wrong = await get(("10.1.2.3", 1), Authorization="Bearer guessed")
    assert wrong.status_code == 403 and wrong.json()["code"] == "forbidden"


async def test_by_default_only_loopback_reads_metrics(
    db: Database, metrics_env: pytest.MonkeyPatch
) -> None:
    from abonent.app import create_app

    app = create_app(db)
    for client, status in ((("127.0.0.1", 1), 200), (("::1", 1), 200), (("203.0.113.9", 1), 404)):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            assert (await c.get("/metrics")).status_code == status, client
