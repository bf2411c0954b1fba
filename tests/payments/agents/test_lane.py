"""The agent lane answers OSMP before FastAPI's router; everything else still reaches FastAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from abonent.db.uow import Database
from tests.factories import make_account
from tests.payments.agents.conftest import PASSWORD, Osmp, make_agent, parse_reply, snapshot


async def test_oversized_form_is_413_and_books_nothing(db: Database, osmp: Osmp, clock) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    await make_agent(db)
    before = await snapshot(db)
    form = (
        f"command=pay&txn_id=1&account={account.number}&sum=10.00&txn_date=20261118150000&pad="
    ).encode() + b"x" * 1_000_001
    headers = {"content-type": "application/x-www-form-urlencoded"}
    auth = httpx.BasicAuth("SBER", PASSWORD)

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(form), 65_536):
            yield form[start : start + 65_536]

    declared = await osmp.client.post("/agents/osmp/SBER", content=form, headers=headers, auth=auth)
    # No Content-Length: the limit is counted as the body arrives.
    streamed = await osmp.client.post(
        "/agents/osmp/SBER", content=chunked(), headers=headers, auth=auth
    )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
    assert await snapshot(db) == before


async def test_the_route_is_still_documented_and_other_methods_reach_fastapi(
    db: Database, osmp: Osmp, clock
) -> None:
    schema = (await osmp.client.get("/openapi.json")).json()
    assert set(schema["paths"]["/agents/osmp/{code}"]) == {"get", "post"}
    assert (await osmp.client.put("/agents/osmp/SBER")).status_code == 405
    assert (await osmp.client.get("/agents/osmp/SBER/extra")).status_code == 404
    assert (await osmp.client.get("/agents/osmp/")).status_code == 404


async def test_the_lane_answers_with_the_protocol(db: Database, osmp: Osmp, clock) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    await make_agent(db)
    reply = await osmp.check("7", account.number, "10.00")
    assert (reply.status, reply.result) == (200, 0)
    # Percent-encoded agent codes arrive decoded, as the FastAPI path parameter did.
    raw = await osmp.client.get(
        "/agents/osmp/%53BER",
        params={"command": "check", "txn_id": "8", "account": account.number, "sum": "1.00"},
        auth=httpx.BasicAuth("SBER", PASSWORD),
    )
    assert parse_reply(raw).result == 0
