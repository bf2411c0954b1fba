"""The subscriber's money moves: promised payment and card payments, once per key (both DBs)."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import AuditEvent, CardPayment, PromisedPayment, SubscriberSession
from tests.api.helpers import assert_problem, snapshot
from tests.api.me_helpers import Me, login
from tests.factories import charge
from tests.promised.helpers import subscriber
from tests.subscribers.helpers import sim_holder


async def _count(db: Database, model: type) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def _eligible(client: httpx.AsyncClient, db: Database, clock: FrozenClock) -> Me:
    """A subscriber whose account may take a promised payment (history, a little overdue)."""
    account, services = await subscriber(db, clock)
    msisdn = services[0].msisdn
    assert msisdn is not None
    return Me(msisdn, account, await login(client, db, msisdn))


async def test_promised_offer_then_take_once_per_key(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await _eligible(client, db, clock)
    url = f"/v1/me/accounts/{me.account.number}/promised-payment"
    view = (await client.get(url, headers=me.bearer)).json()
    assert view["in_force"] is None and view["refusal"] is None
    amounts = [line["amount_minor"] for line in view["offer"]["lines"]]
    assert amounts, view
    headers = {**me.bearer, "Idempotency-Key": "promised-1"}
    first = await client.post(url, json={"amount_minor": amounts[0]}, headers=headers)
    assert first.status_code == 201, first.text
    assert first.headers["idempotent-replayed"] == "false"
    again = await client.post(url, json={"amount_minor": amounts[0]}, headers=headers)
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(db, PromisedPayment) == 1
    taken = first.json()
    assert (taken["amount_minor"], taken["status"], taken["channel"]) == (
        amounts[0],
        "in_force",
        "api",
    )
    async with db.session() as s:
        actors = (
            await s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "promised.take"))
        ).all()
        session_id = (await s.scalars(select(SubscriberSession.id))).one()
    assert actors == [f"subscriber:{me.account.customer_id}:session:{session_id}"]
    # Now the view shows the one in force, and a new key cannot take a second one.
    shown = (await client.get(url, headers=me.bearer)).json()
    assert shown["in_force"]["id"] == taken["id"]
    before = await snapshot(db)
    second = await client.post(
        url, json={"amount_minor": amounts[0]}, headers={**me.bearer, "Idempotency-Key": "p-2"}
    )
    assert second.status_code == 422
    # The same key for another body is a client bug, refused.
    reused = await client.post(url, json={"amount_minor": amounts[-1] + 1}, headers=headers)
    assert_problem(reused, 422, "idempotency_key_reused")
    # Only the refusal of p-2 was stored (its key, for a retry); no money moved.
    assert await _count(db, PromisedPayment) == 1
    after = await snapshot(db)
    assert {t: rows for t, rows in after.items() if t != "idempotency_keys"} == {
        t: rows for t, rows in before.items() if t != "idempotency_keys"
    }


async def test_promised_bad_input_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await _eligible(client, db, clock)
    url = f"/v1/me/accounts/{me.account.number}/promised-payment"
    offered = (await client.get(url, headers=me.bearer)).json()["offer"]["lines"]
    before = await snapshot(db)
    key = {**me.bearer, "Idempotency-Key": "bad-1"}
    for body, status, code in (
        ({"amount_minor": -10_000}, 422, "validation_error"),
        ({"amount_minor": 0}, 422, "validation_error"),
        ({"amount_minor": 100.55}, 422, "validation_error"),
        ({"amount_minor": "10000"}, 422, "validation_error"),
        ({"amount_minor": 10**20}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        ({"amount_minor": offered[0]["amount_minor"], "fee_minor": 0}, 422, "validation_error"),
    ):
        answer = await client.post(url, json=body, headers=key)
        assert_problem(answer, status, code)
    missing = await client.post(
        url, json={"amount_minor": offered[0]["amount_minor"]}, headers=me.bearer
    )
    assert_problem(missing, 400, "idempotency_key_missing")
    broken = await client.post(
        url, content=b"{not json", headers={**key, "content-type": "application/json"}
    )
    assert_problem(broken, 400, "malformed_json")
    huge = await client.post(
        url,
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={**key, "content-type": "application/json"},
    )
    assert_problem(huge, 413, "payload_too_large")
    assert await snapshot(db) == before
    # An amount the offer does not list: a rule's refusal, stored under its key, nothing taken.
    odd = offered[0]["amount_minor"] + 1
    refused = await client.post(url, json={"amount_minor": odd}, headers=key)
    assert refused.status_code == 422 and refused.json()["code"] != "validation_error"
    assert await _count(db, PromisedPayment) == 0


async def test_card_payment_started_once_per_key_and_polled(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, account = await sim_holder(db)
    async with db.session(write=True) as s:
        await charge(s, account, 105_000, due=dt.date(2026, 12, 10))
    me = Me(msisdn, account, await login(client, db, msisdn))
    url = f"/v1/me/accounts/{account.number}/card-payments"
    headers = {**me.bearer, "Idempotency-Key": "card-1"}
    body = {"amount_minor": 105_000, "return_url": "https://app.example.ru/paid"}
    first = await client.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post(url, json=body, headers=headers)
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(db, CardPayment) == 1
    card = first.json()
    assert (card["status"], card["amount_minor"], card["currency"]) == ("pending", 105_000, "RUB")
    assert card["redirect_url"].startswith("http") and "/sandbox/acquiring/" in card["redirect_url"]
    assert f"/pay/card/{card['id']}/result?t=" in card["result_url"]
    polled = await client.get(f"{url}/{card['id']}", headers=me.bearer)
    assert polled.status_code == 200
    assert (polled.json()["id"], polled.json()["status"]) == (card["id"], "pending")
    # Another key is another payment.
    other = await client.post(url, json=body, headers={**me.bearer, "Idempotency-Key": "card-2"})
    assert other.status_code == 201 and other.json()["id"] != card["id"]
    assert await _count(db, CardPayment) == 2


async def test_card_payment_bad_input_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, account = await sim_holder(db)
    me = Me(msisdn, account, await login(client, db, msisdn))
    url = f"/v1/me/accounts/{account.number}/card-payments"
    key = {**me.bearer, "Idempotency-Key": "card-bad"}
    before = await snapshot(db)
    for body in (
        {"amount_minor": -100},
        {"amount_minor": 0},
        {"amount_minor": 10.555},
        {"amount_minor": "1050.00"},
        {"amount_minor": 10**13},
        {"amount_minor": 100, "currency": "USD"},
        {"amount_minor": 100, "account_number": "100000000009"},
        {"amount_minor": 100, "return_url": "javascript://%0aalert(1)"},
        {"amount_minor": 100, "return_url": "https://x.ru/" + "a" * 1100},
        [],
    ):
        answer = await client.post(url, json=body, headers=key)
        assert_problem(answer, 422, "validation_error")
    assert_problem(
        await client.post(url, json={"amount_minor": 100}, headers=me.bearer),
        400,
        "idempotency_key_missing",
    )
    bad_key = {**me.bearer, "Idempotency-Key": "x" * 200}
    assert_problem(
        await client.post(url, json={"amount_minor": 100}, headers=bad_key),
        400,
        "idempotency_key_invalid",
    )
    huge = await client.post(
        url,
        content=b"[" + b"1," * 1_000_000 + b"1]",
        headers={**key, "content-type": "application/json"},
    )
    assert_problem(huge, 413, "payload_too_large")
    for card_id in ("0", "-1", "abc", "99999999999999999999"):
        answer = await client.get(f"{url}/{card_id}", headers=me.bearer)
        assert_problem(answer, 422, "validation_error")
    assert await snapshot(db) == before


async def test_a_token_in_use_is_seen_at_most_once_a_minute(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, account = await sim_holder(db)
    me = Me(msisdn, account, await login(client, db, msisdn))
    url = f"/v1/me/accounts/{account.number}/statement"

    async def seen() -> dt.datetime:
        async with db.session() as s:
            return (await s.scalars(select(SubscriberSession.last_seen_at))).one()

    start = await seen()
    clock.at = clock.now() + dt.timedelta(seconds=30)
    assert (await client.get(url, headers=me.bearer)).status_code == 200
    assert await seen() == start  # the fast path: a read that writes nothing
    clock.at = clock.now() + dt.timedelta(seconds=40)
    assert (await client.get(url, headers=me.bearer)).status_code == 200
    assert await seen() == clock.now()  # a minute on: the unit of work records it
    _, theirs = await sim_holder(db)
    clock.at = clock.now() + dt.timedelta(minutes=2)
    other = await client.get(f"/v1/me/accounts/{theirs.number}/statement", headers=me.bearer)
    assert_problem(other, 404, "account_not_found")  # the slow path refuses the same way
    assert other.json()["detail"] == "no such account"
