"""POST /webhooks/acquiring/sandbox: only a genuine, fresh, first-seen notice changes anything."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.payments.acquiring import signing
from tests.factories import api_key
from tests.payments.acquiring.helpers import card, event, signed, start, state
from tests.payments.api.helpers import account_with_debt, balance

URL = "/webhooks/acquiring/sandbox"


async def _pending(db: Database, web: httpx.AsyncClient) -> tuple[dict[str, Any], Any]:
    account = await account_with_debt(db, 30_000)
    data = await start(web, await api_key(db, "integration"), account, 50_000)
    return data, account


async def test_a_genuine_webhook_books_the_payment(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    data, account = await _pending(db, web)
    raw, headers = signed(event(data["provider_ref"]))
    r = await web.post(URL, content=raw, headers=headers)
    assert r.status_code == 200
    assert r.json() == {"result": "processed", "card_payment_id": data["id"], "status": "succeeded"}
    assert await balance(db, account) == (20_000, 0)


def _forgeries(ref: str, now: int) -> list[tuple[str, bytes, dict[str, str], int, str]]:
    genuine = event(ref)
    raw, headers = signed(genuine)
    tampered = json.dumps({**genuine, "amount_minor": 5_000_000}, separators=(",", ":")).encode()
    no_sig = {k: v for k, v in headers.items() if k != signing.SIGNATURE_HEADER}
    no_ts = {k: v for k, v in headers.items() if k != signing.TIMESTAMP_HEADER}
    other_ts = {**headers, signing.TIMESTAMP_HEADER: str(now - 1)}
    return [
        ("unsigned", raw, {"Content-Type": "application/json"}, 401, "webhook_signature_invalid"),
        ("no signature", raw, no_sig, 401, "webhook_signature_invalid"),
        ("no timestamp", raw, no_ts, 401, "webhook_signature_invalid"),
        (
            "random signature",
            raw,
            {**headers, signing.SIGNATURE_HEADER: "v1=" + "ab" * 32},
            401,
            "webhook_signature_invalid",
        ),
        (
            "wrong secret",
            *signed(genuine, secret=b"guessed-secret"),
            401,
            "webhook_signature_invalid",
        ),
        ("tampered body", tampered, headers, 401, "webhook_signature_invalid"),
        ("timestamp swapped", raw, other_ts, 401, "webhook_signature_invalid"),
        ("stale", *signed(genuine, timestamp=now - 301), 400, "webhook_stale"),
        ("from the future", *signed(genuine, timestamp=now + 301), 400, "webhook_stale"),
        ("malformed", *signed({"event_id": "e"}), 400, "webhook_malformed"),
    ]


@pytest.mark.parametrize(
    "case",
    [
        "unsigned",
        "no signature",
        "no timestamp",
        "random signature",
        "wrong secret",
        "tampered body",
        "timestamp swapped",
        "stale",
        "from the future",
        "malformed",
    ],
)
async def test_forged_or_stale_webhooks_change_nothing(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock, case: str
) -> None:
    data, account = await _pending(db, web)
    before = await state(db)
    now = int(clock.now().timestamp())
    [(_, raw, headers, status, code)] = [
        f for f in _forgeries(data["provider_ref"], now) if f[0] == case
    ]
    r = await web.post(URL, content=raw, headers=headers)
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert await state(db) == before
    assert (await card(db, data["id"])).status == "pending"
    assert await balance(db, account) == (-30_000, 30_000)


async def test_a_webhook_just_inside_the_window_is_accepted(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    data, account = await _pending(db, web)
    raw, headers = signed(event(data["provider_ref"]), timestamp=int(clock.now().timestamp()) - 300)
    assert (await web.post(URL, content=raw, headers=headers)).status_code == 200
    assert await balance(db, account) == (20_000, 0)


async def test_a_replayed_event_changes_nothing(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    data, account = await _pending(db, web)
    raw, headers = signed(event(data["provider_ref"], event_id="evt_1"))
    assert (await web.post(URL, content=raw, headers=headers)).json()["result"] == "processed"
    after_first = await state(db)
    # The very same request again, and the same event id re-signed with other content.
    replay = await web.post(URL, content=raw, headers=headers)
    assert (replay.status_code, replay.json()["result"]) == (200, "duplicate")
    raw2, headers2 = signed(event(data["provider_ref"], "declined", event_id="evt_1"))
    replay2 = await web.post(URL, content=raw2, headers=headers2)
    assert (replay2.status_code, replay2.json()["result"]) == (200, "duplicate")
    assert await state(db) == after_first
    assert await balance(db, account) == (20_000, 0)


async def test_a_second_event_for_a_settled_payment_books_nothing(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    data, account = await _pending(db, web)
    for event_id, status in (("evt_a", "succeeded"), ("evt_b", "succeeded"), ("evt_c", "declined")):
        raw, headers = signed(event(data["provider_ref"], status, event_id=event_id))
        assert (await web.post(URL, content=raw, headers=headers)).status_code == 200
    assert (await card(db, data["id"])).status == "succeeded"
    assert (await state(db)).payments == 1
    assert await balance(db, account) == (20_000, 0)


async def test_genuine_but_wrong_amount_or_reference_is_refused(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    data, account = await _pending(db, web)
    before = await state(db)
    raw, headers = signed(event(data["provider_ref"], amount_minor=5_000_000))
    r = await web.post(URL, content=raw, headers=headers)
    assert (r.status_code, r.json()["code"]) == (422, "acquiring_amount_mismatch")
    raw, headers = signed(event("sbx_unknown"))
    r = await web.post(URL, content=raw, headers=headers)
    assert (r.status_code, r.json()["code"]) == (404, "card_payment_not_found")
    raw, headers = signed(event(data["provider_ref"]))
    r = await web.post("/webhooks/acquiring/otherbank", content=raw, headers=headers)
    assert (r.status_code, r.json()["code"]) == (404, "acquiring_provider_unknown")
    assert await state(db) == before
    assert await balance(db, account) == (-30_000, 30_000)


async def test_a_decline_after_unknown_fails_it(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    data, account = await _pending(db, web)
    await web.post(f"/sandbox/acquiring/{data['provider_ref']}/pay", data={"action": "timeout"})
    await web.get(data["result_url"].removeprefix("http://127.0.0.1:8000"))
    assert (await card(db, data["id"])).status == "unknown"
    raw, headers = signed(event(data["provider_ref"], "declined"))
    assert (await web.post(URL, content=raw, headers=headers)).json()["status"] == "failed"
    assert await balance(db, account) == (-30_000, 30_000)
