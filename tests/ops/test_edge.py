"""Request ids, and the last line of defence: whatever escapes becomes that surface's own 500,
logged once, without locals, with the request id."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from abonent.api.agents import osmp as osmp_endpoints
from tests.ops.conftest import LogLines

SECRET = "abk_" + "Q7w" * 14


def _raising_routes(app: FastAPI) -> None:
    async def boom() -> None:
        api_key = SECRET  # a local: it must not reach the log
        raise RuntimeError(f"broken while holding {api_key[:3]}")

    app.add_api_route("/v1/boom", boom)
    app.add_api_route("/boom-page", boom, include_in_schema=False)


async def test_every_answer_carries_a_request_id(http: httpx.AsyncClient) -> None:
    ours = await http.get("/healthz")
    assert len(ours.headers["x-request-id"]) == 16
    other = await http.get("/healthz")
    assert other.headers["x-request-id"] != ours.headers["x-request-id"]
    theirs = await http.get("/v1/no-such-thing", headers={"X-Request-ID": "lb-42.abc"})
    assert theirs.status_code == 404 and theirs.headers["x-request-id"] == "lb-42.abc"
    lane = await http.post("/agents/osmp/SBER", headers={"X-Request-ID": "agent-1"})
    assert lane.headers["x-request-id"] == "agent-1"


@pytest.mark.parametrize("given", ["x" * 65, "has space", "юникод", ""])
async def test_an_insane_request_id_is_replaced(http: httpx.AsyncClient, given: str) -> None:
    r = await http.get("/healthz", headers={"X-Request-ID": given.encode("utf-8")})
    assert r.headers["x-request-id"] != given and len(r.headers["x-request-id"]) == 16


async def test_an_api_error_is_problem_json_500_logged_once_without_locals(
    app: FastAPI, http: httpx.AsyncClient, json_logs: LogLines
) -> None:
    _raising_routes(app)
    r = await http.get("/v1/boom", headers={"X-Request-ID": "req-500"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "internal_error" and r.json()["request_id"] == "req-500"
    assert r.headers["x-request-id"] == "req-500"
    lines = json_logs.read()
    errors = [line for line in lines if line.get("exception")]
    assert len(errors) == 1 and errors[0]["request_id"] == "req-500"
    assert "RuntimeError" in json_logs.text and SECRET not in json_logs.text


async def test_an_error_raised_in_a_middleware_is_problem_json_too(
    app: FastAPI, http: httpx.AsyncClient, json_logs: LogLines
) -> None:
    class Broken:
        def __init__(self, inner: ASGIApp) -> None:
            self.inner = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                raise LookupError("middleware failed")
            await self.inner(scope, receive, send)

    app.add_middleware(Broken)
    r = await http.get("/v1/accounts")
    assert r.status_code == 500 and r.json()["code"] == "internal_error"
    assert r.json()["request_id"] == r.headers["x-request-id"]
    assert len([line for line in json_logs.read() if line.get("exception")]) == 1


async def test_a_page_error_is_a_plain_html_page(app: FastAPI, http: httpx.AsyncClient) -> None:
    _raising_routes(app)
    r = await http.get(
        "/boom-page", headers={"Accept": "text/html", "X-Request-ID": "<script>x</script>"}
    )
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in r.text and "<script>" not in r.text


@pytest.mark.parametrize(
    ("error", "result"),
    [
        (RuntimeError("a bug"), "300"),
        (OperationalError("SELECT 1", {}, ConnectionRefusedError("db down")), "1"),
    ],
)
async def test_whatever_escapes_the_osmp_handler_is_protocol_xml(
    http: httpx.AsyncClient,
    json_logs: LogLines,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    result: str,
) -> None:
    async def broken(*_args: object) -> None:
        raise error

    monkeypatch.setattr(osmp_endpoints, "osmp_call", broken)
    r = await http.get("/agents/osmp/SBER", params={"command": "check"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    assert f"<result>{result}</result>" in r.text
    assert len([line for line in json_logs.read() if line.get("exception")]) == 1


async def test_a_malformed_multipart_osmp_call_is_never_a_json_500(
    http: httpx.AsyncClient,
) -> None:
    r = await http.post(
        "/agents/osmp/SBER",
        content=b"--x\r\nbroken",
        headers={"content-type": "multipart/form-data"},  # no boundary at all
    )
    assert r.status_code < 500 and r.headers["content-type"].startswith("text/xml")
    assert "<result>" in r.text


async def test_a_body_over_the_limit_is_still_413_in_the_lane(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/agents/osmp/SBER",
        content=b"x" * 1_000_001,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
