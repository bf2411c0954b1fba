from __future__ import annotations

import httpx
import pytest

from abonent.db.migrate import head_revision


async def test_healthz_reports_schema_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["schema_revision"] == head_revision()


async def test_unknown_route_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


async def test_oversized_body_is_refused_before_reading(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/customers", content=b"x" * 1_000_001, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Abonent"


async def test_only_a_served_app_tunes_the_garbage_collector(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from abonent import app as app_module
    from abonent.config import get_settings
    from abonent.db.uow import Database

    calls: list[object] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: calls.append(t))
    database = Database(db_url)
    try:
        given = app_module.create_app(database)
        async with given.router.lifespan_context(given):
            pass
        assert calls == []  # tests and embedders keep Python's default
    finally:
        await database.dispose()
    monkeypatch.setenv("ABONENT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        served = app_module.create_app()
        async with served.router.lifespan_context(served):
            pass
    finally:
        get_settings.cache_clear()
    assert calls == ["freeze", app_module._GC_THRESHOLDS]
