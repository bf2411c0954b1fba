"""Idempotency-Key on POST /v1/payments (DESIGN §4): 400, 422, 409, stored replay, expiry."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from abonent.api.v1 import payments as payments_endpoints
from abonent.cli.main import app as cli
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock, use_clock
from abonent.models import IdempotencyKey, Payment
from abonent.payments import idempotency as idem
from abonent.payments.schemas import PaymentCreate
from tests.conftest import NOW
from tests.factories import api_key, auth, make_account
from tests.payments.api.helpers import (
    account_with_debt,
    balance,
    body,
    key_id,
    snapshot,
)

URL = "/v1/payments"


def headers(key: str, idempotency_key: str | None) -> dict[str, str]:
    h = auth(key)
    if idempotency_key is not None:
        h["Idempotency-Key"] = idempotency_key
    return h


async def test_first_request_books_and_answers_201(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 30_000)
    key = await api_key(db, "integration", name="bank-app")
    r = await client.post(URL, json=body(account, 50_000), headers=headers(key, "k-1"))
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["Idempotent-Replayed"] == "false"
    data = r.json()
    kid = await key_id(db, "bank-app")
    async with db.session() as s:
        payment = await s.scalar(select(Payment))
        assert payment is not None
    assert data == {
        "id": payment.id,
        "account_number": account.number,
        "amount_minor": 50_000,
        "currency": "RUB",
        "method": "api",
        "status": "succeeded",
        "source": f"api:{kid}",
        "source_txn_id": "k-1",
        "comment": None,
        "created_at": "2026-11-18T12:00:00Z",
        "booked_at": "2026-11-18T12:00:00Z",
        "entry_id": payment.entry_id,
        "reversal_entry_id": None,
        "reversal_reason": None,
    }
    # 300 roubles of debt cleared, 200 left as prepaid money.
    assert await balance(db, account) == (20_000, 0)
    async with db.session() as s:
        row = await s.scalar(select(IdempotencyKey))
        assert row is not None
        assert (row.scope, row.key, row.status, row.response_status) == (
            f"apikey:{kid}",
            "k-1",
            "done",
            201,
        )
        assert row.response_body is not None and row.response_body.encode() == r.content
        # settings.idempotency_ttl_hours defaults to 48 (never less than 24).
        assert row.expires_at == NOW + dt.timedelta(hours=48)


async def test_external_id_becomes_the_transaction_id(
    db: Database, client: httpx.AsyncClient
) -> None:
    account = await account_with_debt(db, 0)
    key = await api_key(db, "integration")
    r = await client.post(
        URL,
        json=body(account, 100, external_id="ORDER-77", comment="за ноябрь", method="transfer"),
        headers=headers(key, "k-ext"),
    )
    assert r.status_code == 201
    assert (r.json()["source_txn_id"], r.json()["comment"], r.json()["method"]) == (
        "ORDER-77",
        "за ноябрь",
        "transfer",
    )
    # The same external_id under a new key is the same payment, not a second one.
    again = await client.post(
        URL,
        json=body(account, 100, external_id="ORDER-77", method="transfer"),
        headers=headers(key, "k-ext-2"),
    )
    assert again.status_code == 200
    assert again.json()["id"] == r.json()["id"]
    assert await balance(db, account) == (100, 0)


async def test_missing_key_is_400_and_changes_nothing(
    db: Database, client: httpx.AsyncClient
) -> None:
    account = await account_with_debt(db)
    key = await api_key(db, "integration")
    before = await snapshot(db)
    r = await client.post(URL, json=body(account), headers=headers(key, None))
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "idempotency_key_missing"
    assert await snapshot(db) == before


@pytest.mark.parametrize("bad", ["", "   ", "has space", "ключ".encode(), "x" * 129])
async def test_malformed_key_is_400_and_changes_nothing(
    db: Database, client: httpx.AsyncClient, bad: str | bytes
) -> None:
    account = await account_with_debt(db)
    key = await api_key(db, "integration")
    before = await snapshot(db)
    h: dict[str, str | bytes] = {**auth(key), "Idempotency-Key": bad}
    r = await client.post(URL, json=body(account), headers=h)
    assert r.status_code == 400
    assert r.json()["code"] in ("idempotency_key_missing", "idempotency_key_invalid")
    assert await snapshot(db) == before


async def test_completed_duplicate_gets_the_stored_response_byte_for_byte(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 30_000)
    key = await api_key(db, "integration")
    admin = await api_key(db, "admin")
    first = await client.post(URL, json=body(account, 50_000), headers=headers(key, "dup-1"))
    assert first.status_code == 201
    after_first = await snapshot(db)

    clock.advance(minutes=5)
    # Same payload, other spacing and key order: the same request.
    raw = json.dumps(dict(reversed(list(body(account, 50_000).items()))), indent=2)
    second = await client.post(
        URL,
        content=raw,
        headers={**headers(key, "dup-1"), "Content-Type": "application/json"},
    )
    assert second.status_code == 201
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await snapshot(db) == after_first

    # Stored, not recomputed: after a reversal the replay still says what the first answer said.
    payment_id = first.json()["id"]
    rev = await client.post(
        f"{URL}/{payment_id}/reverse", json={"reason": "test"}, headers=auth(admin)
    )
    assert rev.status_code == 200 and rev.json()["status"] == "reversed"
    third = await client.post(URL, json=body(account, 50_000), headers=headers(key, "dup-1"))
    assert (third.status_code, third.content) == (201, first.content)
    assert json.loads(third.content)["status"] == "succeeded"
    async with db.session() as s:
        assert len((await s.scalars(select(Payment))).all()) == 1


async def test_same_key_with_another_payload_is_422_and_changes_nothing(
    db: Database, client: httpx.AsyncClient
) -> None:
    account = await account_with_debt(db)
    other, _ = await _other_account(db)
    key = await api_key(db, "integration")
    assert (
        await client.post(URL, json=body(account, 50_000), headers=headers(key, "k-2"))
    ).status_code == 201
    before = await snapshot(db)
    for changed in (
        body(account, 50_001),
        body(other, 50_000),
        body(account, 50_000, comment="другой"),
        body(account, 50_000, method="office"),
    ):
        r = await client.post(URL, json=changed, headers=headers(key, "k-2"))
        assert r.status_code == 422, changed
        assert r.json()["code"] == "idempotency_key_reused"
        assert "Idempotent-Replayed" not in r.headers
    assert await snapshot(db) == before


async def test_same_key_while_the_first_is_running_is_409(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 30_000)
    key = await api_key(db, "integration", name="runner")
    kid = await key_id(db, "runner")
    payload = body(account, 50_000)
    # Another request holds the key: its claim is committed, its work has not finished.
    claim = await idem.claim(
        db,
        scope=f"apikey:{kid}",
        key="busy",
        fingerprint=idem.fingerprint("POST", URL, PaymentCreate(**payload).model_dump(mode="json")),
        ttl=idem.ttl(48),
    )
    assert isinstance(claim, idem.Claim)
    before = await snapshot(db)
    r = await client.post(URL, json=payload, headers=headers(key, "busy"))
    assert r.status_code == 409
    assert r.json()["code"] == "idempotency_key_in_progress"
    assert await snapshot(db) == before

    # A claim left 'running' by a process that died is taken over after 10 minutes.
    clock.advance(minutes=9)
    assert (await client.post(URL, json=payload, headers=headers(key, "busy"))).status_code == 409
    clock.advance(minutes=2)
    r = await client.post(URL, json=payload, headers=headers(key, "busy"))
    assert r.status_code == 201
    assert await balance(db, account) == (20_000, 0)


async def test_keys_are_scoped_per_api_key(db: Database, client: httpx.AsyncClient) -> None:
    account = await account_with_debt(db, 0)
    one = await api_key(db, "integration", name="one")
    two = await api_key(db, "integration", name="two")
    a = await client.post(URL, json=body(account, 100), headers=headers(one, "same"))
    b = await client.post(URL, json=body(account, 200), headers=headers(two, "same"))
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
    assert await balance(db, account) == (300, 0)


async def test_a_refusal_is_stored_and_replayed(db: Database, client: httpx.AsyncClient) -> None:
    async with db.session(write=True) as s:
        probe, _ = await make_account(s)
        number = probe.number
    # A well-formed number nobody has yet: change it into another valid one.
    from abonent.kit.numbers import generate_account_number

    missing = generate_account_number()
    while missing == number:
        missing = generate_account_number()
    key = await api_key(db, "integration")
    payload = {"account_number": missing, "amount_minor": 100, "currency": "RUB", "method": "api"}
    first = await client.post(URL, json=payload, headers=headers(key, "nf"))
    assert first.status_code == 404
    assert first.json()["code"] == "account_not_found"
    # The account appears later; the same key still gets the first answer …
    async with db.session(write=True) as s:
        await make_account(s, number=missing)
    again = await client.post(URL, json=payload, headers=headers(key, "nf"))
    assert (again.status_code, again.content) == (404, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    # … and a new key is a new attempt.
    fresh = await client.post(URL, json=payload, headers=headers(key, "nf-2"))
    assert fresh.status_code == 201


async def test_schema_errors_do_not_consume_the_key(
    db: Database, client: httpx.AsyncClient
) -> None:
    account = await account_with_debt(db, 0)
    key = await api_key(db, "integration")
    bad = await client.post(URL, json=body(account, 10.5), headers=headers(key, "k-3"))
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    good = await client.post(URL, json=body(account, 1050), headers=headers(key, "k-3"))
    assert good.status_code == 201


async def test_an_unexpected_crash_releases_the_key(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from abonent.app import create_app

    account = await account_with_debt(db, 0)
    key = await api_key(db, "integration")
    before = await snapshot(db)

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    app = create_app(db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        monkeypatch.setattr(payments_endpoints, "book_payment", broken)
        r = await c.post(URL, json=body(account, 700), headers=headers(key, "crash"))
        assert r.status_code == 500
        assert await snapshot(db) == before  # no payment and no key left behind
        monkeypatch.undo()
        r = await c.post(URL, json=body(account, 700), headers=headers(key, "crash"))
        assert r.status_code == 201
    assert await balance(db, account) == (700, 0)


async def test_keys_expire_after_the_ttl(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 0)
    key = await api_key(db, "integration")
    for k, amount in (("old", 100), ("old2", 200)):
        r = await client.post(URL, json=body(account, amount), headers=headers(key, k))
        assert r.status_code == 201
    clock.advance(hours=47, minutes=59)
    r = await client.post(URL, json=body(account, 999), headers=headers(key, "old"))
    assert (r.status_code, r.json()["code"]) == (422, "idempotency_key_reused")

    clock.advance(minutes=1)  # exactly 48 hours: expired
    async with db.session(write=True) as s:
        assert await idem.purge_expired(s) == 2
    before = await snapshot(db)
    assert before.keys == 0
    # The key store forgot them; the payment itself is still idempotent on its transaction id
    # (the key, as no external_id was given): the same request finds the booked payment …
    same = await client.post(URL, json=body(account, 100), headers=headers(key, "old"))
    assert same.status_code == 200
    # … and another amount under an old key is refused by the payment's own fingerprint.
    other = await client.post(URL, json=body(account, 999), headers=headers(key, "old2"))
    assert (other.status_code, other.json()["code"]) == (409, "payment_duplicate_mismatch")
    after = await snapshot(db)
    assert (after.payments, after.entries, after.balances) == (
        before.payments,
        before.entries,
        before.balances,
    )
    assert await balance(db, account) == (300, 0)


def test_purge_command_deletes_only_expired_keys(env_db: str) -> None:
    async def setup() -> None:
        db = Database(env_db)
        try:
            with use_clock(FrozenClock(NOW - dt.timedelta(hours=49))):
                await idem.claim(db, scope="apikey:1", key="a", fingerprint="f", ttl=idem.ttl(48))
            with use_clock(FrozenClock(NOW - dt.timedelta(hours=47))):
                await idem.claim(db, scope="apikey:1", key="b", fingerprint="f", ttl=idem.ttl(48))
        finally:
            await db.dispose()

    async def keys() -> list[str]:
        db = Database(env_db)
        try:
            async with db.session() as s:
                return sorted((await s.scalars(select(IdempotencyKey.key))).all())
        finally:
            await db.dispose()

    asyncio.run(setup())
    with use_clock(FrozenClock(NOW)):
        result = CliRunner().invoke(cli, ["payments", "purge-idempotency"])
    assert result.exit_code == 0, result.output
    assert "1 expired Idempotency-Keys deleted" in result.output
    assert asyncio.run(keys()) == ["b"]


def test_ttl_is_never_below_24_hours() -> None:
    assert idem.ttl(1) == dt.timedelta(hours=24)
    assert idem.ttl(72) == dt.timedelta(hours=72)


async def _other_account(db: Database):  # type: ignore[no-untyped-def]
    async with db.session(write=True) as s:
        return await make_account(s)
