"""POST/GET /v1/payments and reversal: strict money, roles, filters, pagination, refusals."""

from __future__ import annotations

import datetime as dt
import itertools

import httpx
import pytest
from sqlalchemy import select

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import AuditEvent, OutboxMessage, Payment
from abonent.statement.service import statement_for
from tests.factories import api_key, auth, make_account
from tests.payments.api.helpers import account_with_debt, balance, body, snapshot

URL = "/v1/payments"
_keys = itertools.count(1)


def idem(key: str) -> dict[str, str]:
    return {**auth(key), "Idempotency-Key": f"key-{next(_keys)}"}


async def book(
    client: httpx.AsyncClient, key: str, payload: dict[str, object]
) -> dict[str, object]:
    r = await client.post(URL, json=payload, headers=idem(key))
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    return data


# --- strict money and input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [0, -100, 10.0, 10.5, "100", "1e3", True, None, 10**12 + 1, [100], {"minor": 1}],
    ids=lambda v: repr(v),
)
async def test_amount_must_be_a_strict_positive_integer(
    db: Database, client: httpx.AsyncClient, amount: object
) -> None:
    account = await account_with_debt(db)
    key = await api_key(db, "integration")
    before = await snapshot(db)
    r = await client.post(URL, json=body(account, amount), headers=idem(key))  # type: ignore[arg-type]
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"
    assert any(e["loc"][-1] == "amount_minor" for e in r.json()["errors"])
    assert await snapshot(db) == before


async def test_amount_missing_and_unknown_fields_are_refused(
    db: Database, client: httpx.AsyncClient
) -> None:
    account = await account_with_debt(db)
    key = await api_key(db, "integration")
    before = await snapshot(db)
    payload = body(account)
    del payload["amount_minor"]
    for bad in (payload, body(account, amount="500.00"), {**body(account), "amount": 500}):
        r = await client.post(URL, json=bad, headers=idem(key))
        assert (r.status_code, r.json()["code"]) == (422, "validation_error"), bad
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"currency": "rub"}, 422, "validation_error"),
        ({"currency": "USD"}, 422, "currency_mismatch"),
        ({"method": "card"}, 422, "validation_error"),
        ({"method": "agent"}, 422, "validation_error"),
        ({"account_number": "12345"}, 422, "account_number_format"),
        ({"comment": "x" * 256}, 422, "validation_error"),
        ({"external_id": "has space"}, 422, "validation_error"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    db: Database, client: httpx.AsyncClient, change: dict[str, object], status: int, code: str
) -> None:
    account = await account_with_debt(db)
    key = await api_key(db, "integration")
    before = await snapshot(db)
    r = await client.post(URL, json={**body(account), **change}, headers=idem(key))
    assert (r.status_code, r.json()["code"]) == (status, code)
    after = await snapshot(db)
    assert (after.payments, after.entries, after.balances) == (
        before.payments,
        before.entries,
        before.balances,
    )


async def test_mistyped_account_number_is_told_apart(
    db: Database, client: httpx.AsyncClient
) -> None:
    account = await account_with_debt(db)
    key = await api_key(db, "integration")
    last = account.number[-1]
    typo = account.number[:-1] + str((int(last) + 1) % 10)
    r = await client.post(URL, json=body(account, account_number=typo), headers=idem(key))
    assert (r.status_code, r.json()["code"]) == (422, "account_number_check_digit")


async def test_malformed_json_is_400(db: Database, client: httpx.AsyncClient) -> None:
    key = await api_key(db, "integration")
    r = await client.post(
        URL, content=b"{not json", headers={**idem(key), "Content-Type": "application/json"}
    )
    assert r.status_code in (400, 422)
    assert (await snapshot(db)).payments == 0


# --- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 201),
        ("supervisor", 201),
        ("clerk", 201),
        ("integration", 201),
        ("hotline", 403),
        ("collections", 403),
    ],
)
async def test_who_may_book(
    db: Database, client: httpx.AsyncClient, role: str, status: int
) -> None:
    account = await account_with_debt(db, 0)
    key = await api_key(db, role)
    r = await client.post(URL, json=body(account, 100), headers=idem(key))
    assert r.status_code == status
    if status == 403:
        assert r.json()["code"] == "role_forbidden"
        assert await balance(db, account) == (0, 0)


async def test_no_or_bad_api_key_is_401(db: Database, client: httpx.AsyncClient) -> None:
    account = await account_with_debt(db)
    r = await client.post(URL, json=body(account), headers={"Idempotency-Key": "x"})
    assert (r.status_code, r.json()["code"]) == (401, "api_key_missing")
    r = await client.post(
        URL, json=body(account), headers={**auth("abk_nope"), "Idempotency-Key": "x"}
    )
    assert (r.status_code, r.json()["code"]) == (401, "api_key_invalid")
    assert (await snapshot(db)).payments == 0


# --- reading -----------------------------------------------------------------------------------


async def test_get_payment(db: Database, client: httpx.AsyncClient) -> None:
    account = await account_with_debt(db)
    key = await api_key(db, "integration")
    hotline = await api_key(db, "hotline")
    created = await book(client, key, body(account, 12_345))
    r = await client.get(f"{URL}/{created['id']}", headers=auth(hotline))
    assert r.status_code == 200
    assert r.json() == created
    missing = await client.get(f"{URL}/999999", headers=auth(hotline))
    assert (missing.status_code, missing.json()["code"]) == (404, "payment_not_found")
    assert (await client.get(f"{URL}/0", headers=auth(hotline))).status_code == 422
    assert (await client.get(f"{URL}/{created['id']}")).status_code == 401


async def test_list_filters_and_pages(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    one = await account_with_debt(db, 0)
    two = await account_with_debt(db, 0)
    key = await api_key(db, "admin")
    made: list[dict[str, object]] = []
    for i, (account, method) in enumerate(
        [(one, "api"), (two, "office"), (one, "transfer"), (one, "api"), (two, "api")]
    ):
        made.append(await book(client, key, body(account, 100 * (i + 1), method=method)))
        clock.advance(hours=1)
    rev = await client.post(
        f"{URL}/{made[3]['id']}/reverse", json={"reason": "ошибка"}, headers=auth(key)
    )
    assert rev.status_code == 200

    async def ids(**params: object) -> list[object]:
        r = await client.get(URL, params=params, headers=auth(key))
        assert r.status_code == 200, r.text
        assert r.json()["next_cursor"] is None
        return [p["id"] for p in r.json()["items"]]

    all_ids = [p["id"] for p in made]
    assert await ids() == all_ids[::-1]
    assert await ids(account_number=one.number) == [all_ids[3], all_ids[2], all_ids[0]]
    assert await ids(method="api") == [all_ids[4], all_ids[3], all_ids[0]]
    assert await ids(status="reversed") == [all_ids[3]]
    assert await ids(status="succeeded", account_number=one.number) == [all_ids[2], all_ids[0]]
    # Booked at 12:00, 13:00, … 16:00 UTC; since is inclusive, until exclusive.
    assert await ids(since="2026-11-18T13:00:00Z", until="2026-11-18T15:00:00Z") == [
        all_ids[2],
        all_ids[1],
    ]
    # A time without a zone is UTC; Moscow time says the same instant differently.
    assert await ids(since="2026-11-18T16:00:00") == [all_ids[4]]
    assert await ids(since="2026-11-18T19:00:00+03:00") == [all_ids[4]]
    assert await ids(status="pending") == []

    # Pages of two, newest first: every payment exactly once.
    seen: list[object] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(URL, params=params, headers=auth(key))
        assert r.status_code == 200
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [p["id"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (all_ids[::-1], 3)

    # A cursor is good only for the filters it was issued with.
    first = (await client.get(URL, params={"limit": 2}, headers=auth(key))).json()
    r = await client.get(
        URL, params={"limit": 2, "cursor": first["next_cursor"], "method": "api"}, headers=auth(key)
    )
    assert (r.status_code, r.json()["code"]) == (422, "cursor_invalid")


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"status": "bogus"}, 422, "status_invalid"),
        ({"method": "cash"}, 422, "method_invalid"),
        ({"limit": 0}, 422, "validation_error"),
        ({"limit": 201}, 422, "validation_error"),
        ({"since": "yesterday"}, 422, "validation_error"),
        ({"since": "2026-11-18T12:00:00Z", "until": "2026-11-18T12:00:00Z"}, 422, "period_invalid"),
        ({"cursor": "!!!"}, 422, "cursor_invalid"),
        ({"account_number": "123"}, 422, "account_number_format"),
    ],
)
async def test_list_refuses_bad_filters(
    db: Database, client: httpx.AsyncClient, params: dict[str, object], status: int, code: str
) -> None:
    key = await api_key(db, "admin")
    r = await client.get(URL, params=params, headers=auth(key))
    assert (r.status_code, r.json()["code"]) == (status, code)


# --- reversal ----------------------------------------------------------------------------------


async def test_reversal_reopens_the_debt_and_is_audited(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 30_000)
    key = await api_key(db, "integration")
    supervisor = await api_key(db, "supervisor", name="старший смены")
    paid = await book(client, key, body(account, 30_000))
    assert await balance(db, account) == (0, 0)

    r = await client.post(
        f"{URL}/{paid['id']}/reverse",
        json={"reason": "платёж отозван банком"},
        headers=auth(supervisor),
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["status"], data["reversal_reason"]) == ("reversed", "платёж отозван банком")
    assert isinstance(data["reversal_entry_id"], int)
    assert await balance(db, account) == (-30_000, 30_000)
    async with db.session() as s:
        st = await statement_for(s, account, today=dt.date(2026, 11, 18))
        assert (st.debt_minor, st.overdue_minor) == (30_000, 30_000)
        assert [d.kind for d in st.debt_by_service] == ["mobile"]
        audit = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "payment.reverse"))
        ).all()
        assert len(audit) == 1
        assert audit[0].actor.startswith("apikey:") and audit[0].actor.endswith("старший смены")
        assert (audit[0].role, audit[0].object_id) == ("supervisor", str(paid["id"]))
        assert audit[0].reason == "платёж отозван банком"
        outbox = (
            await s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "payment.reversed"))
        ).all()
        assert len(outbox) == 1

    before = await snapshot(db)
    again = await client.post(
        f"{URL}/{paid['id']}/reverse", json={"reason": "ещё раз"}, headers=auth(supervisor)
    )
    assert (again.status_code, again.json()["code"]) == (422, "payment_already_reversed")
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("supervisor", 200), ("clerk", 403), ("hotline", 403), ("integration", 403)],
)
async def test_only_staff_seniors_may_reverse(
    db: Database, client: httpx.AsyncClient, role: str, status: int
) -> None:
    account = await account_with_debt(db, 0)
    paid = await book(client, await api_key(db, "integration"), body(account, 500))
    before = await snapshot(db)
    r = await client.post(
        f"{URL}/{paid['id']}/reverse", json={"reason": "r"}, headers=auth(await api_key(db, role))
    )
    assert r.status_code == status
    if status == 403:
        assert r.json()["code"] == "role_forbidden"
        after = await snapshot(db)
        assert (after.payments, after.entries, after.balances) == (
            before.payments,
            before.entries,
            before.balances,
        )
        assert await balance(db, account) == (500, 0)


async def test_reversal_refusals(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    admin = await api_key(db, "admin")
    account = await account_with_debt(db, 0)
    paid = await book(client, admin, body(account, 500))
    # A payment that never got booked (a card payment in flight would look so).
    async with db.session(write=True) as s:
        account2, _ = await make_account(s)
        pending = Payment(
            account_id=account2.id,
            amount_minor=100,
            currency="RUB",
            method="card",
            source="card:sandbox",
            source_txn_id="sbx_x",
            fingerprint="f",
            status="unknown",
            actor="test",
            created_at=clock.now(),
        )
        s.add(pending)
        await s.flush()
        pending_id = pending.id
    before = await snapshot(db)
    cases = [
        (f"{URL}/{pending_id}/reverse", {"reason": "r"}, 422, "payment_not_reversible"),
        (f"{URL}/999999/reverse", {"reason": "r"}, 404, "payment_not_found"),
        (f"{URL}/{paid['id']}/reverse", {"reason": "   "}, 422, "reason_required"),
        (f"{URL}/{paid['id']}/reverse", {"reason": ""}, 422, "validation_error"),
        (f"{URL}/{paid['id']}/reverse", {}, 422, "validation_error"),
    ]
    for url, payload, status, code in cases:
        r = await client.post(url, json=payload, headers=auth(admin))
        assert (r.status_code, r.json()["code"]) == (status, code), url
    assert await snapshot(db) == before
    assert await balance(db, account) == (500, 0)


async def test_reversal_with_an_idempotency_key_replays(
    db: Database, client: httpx.AsyncClient
) -> None:
    admin = await api_key(db, "admin")
    account = await account_with_debt(db, 0)
    paid = await book(client, admin, body(account, 500))
    h = {**auth(admin), "Idempotency-Key": "rev-1"}
    first = await client.post(f"{URL}/{paid['id']}/reverse", json={"reason": "r"}, headers=h)
    second = await client.post(f"{URL}/{paid['id']}/reverse", json={"reason": "r"}, headers=h)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await balance(db, account) == (0, 0)
