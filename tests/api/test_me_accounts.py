"""The subscriber's own account: history (filters, pages), open items, payments (both DBs)."""

from __future__ import annotations

import datetime as dt

import httpx

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import Account
from tests.api.helpers import assert_problem, snapshot
from tests.api.me_helpers import Me, login
from tests.conftest import NOW
from tests.factories import charge, pay
from tests.promised.helpers import pay_by_api
from tests.subscribers.helpers import sim_holder


async def _with_history(client: httpx.AsyncClient, db: Database, clock: FrozenClock) -> Me:
    """Charges of 100, 200 and 300 ₽ on 5 Sep, 5 Oct and 5 Nov 2026; a payment of 150 ₽ on
    20 Oct (business dates); then logged in at NOW."""
    msisdn, account = await sim_holder(db)
    for day, amount, is_payment in (
        (dt.date(2026, 9, 5), 10_000, False),
        (dt.date(2026, 10, 5), 20_000, False),
        (dt.date(2026, 10, 20), 15_000, True),
        (dt.date(2026, 11, 5), 30_000, False),
    ):
        clock.at = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
        async with db.session(write=True) as s:
            if is_payment:
                await pay(s, account, amount)
            else:
                await charge(s, account, amount, due=day + dt.timedelta(days=15))
    clock.at = NOW
    return Me(msisdn, account, await login(client, db, msisdn))


def _history(me: Me) -> str:
    return f"/v1/me/accounts/{me.account.number}/history"


async def test_history_newest_first_with_what_each_did_to_the_balance(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await _with_history(client, db, clock)
    page = (await client.get(_history(me), headers=me.bearer)).json()
    assert [(i["business_date"], i["kind"], i["amount_minor"]) for i in page["items"]] == [
        ("2026-11-05", "charge", -30_000),
        ("2026-10-20", "payment", 15_000),
        ("2026-10-05", "charge", -20_000),
        ("2026-09-05", "charge", -10_000),
    ]
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert set(first) == {
        "id", "business_date", "kind", "memo", "created_at", "reverses_entry_id",
        "amount_minor", "currency",
    }  # fmt: skip
    assert first["currency"] == "RUB" and first["memo"] == "test charge"
    # The statement agrees: what the history did sums to the balance.
    statement = await client.get(
        f"/v1/me/accounts/{me.account.number}/statement", headers=me.bearer
    )
    assert statement.json()["balance_minor"] == sum(i["amount_minor"] for i in page["items"])


async def test_history_filters_by_period_and_kind(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await _with_history(client, db, clock)

    async def dates(**params: str) -> list[str]:
        answer = await client.get(_history(me), params=params, headers=me.bearer)
        assert answer.status_code == 200, answer.text
        return [i["business_date"] for i in answer.json()["items"]]

    assert await dates(**{"from": "2026-10-01", "to": "2026-10-31"}) == [
        "2026-10-20",
        "2026-10-05",
    ]
    assert await dates(**{"from": "2026-10-20"}) == ["2026-11-05", "2026-10-20"]
    assert await dates(to="2026-10-05") == ["2026-10-05", "2026-09-05"]
    assert await dates(**{"from": "2026-10-05", "to": "2026-10-05"}) == ["2026-10-05"]
    assert await dates(kind="payment") == ["2026-10-20"]
    assert await dates(kind="charge", to="2026-10-31") == ["2026-10-05", "2026-09-05"]
    assert await dates(kind="reversal") == []
    assert await dates(**{"from": "2027-01-01"}) == []


async def test_history_pages_with_cursors_bound_to_their_filters(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await _with_history(client, db, clock)
    everything = (await client.get(_history(me), headers=me.bearer)).json()["items"]
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(_history(me), params=params, headers=me.bearer)).json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in everything] and pages == 4
    # Two charges per page: the second page of charges holds the last one.
    charges = (
        await client.get(_history(me), params={"kind": "charge", "limit": 2}, headers=me.bearer)
    ).json()
    rest = await client.get(
        _history(me),
        params={"kind": "charge", "limit": 2, "cursor": charges["next_cursor"]},
        headers=me.bearer,
    )
    assert [i["business_date"] for i in rest.json()["items"]] == ["2026-09-05"]
    # A cursor issued for charges is refused for payments, and for another listing.
    for url, params in (
        (_history(me), {"kind": "payment", "cursor": charges["next_cursor"]}),
        (
            f"/v1/me/accounts/{me.account.number}/payments",
            {"cursor": charges["next_cursor"]},
        ),
        (_history(me), {"cursor": "not-a-cursor"}),
    ):
        answer = await client.get(url, params=params, headers=me.bearer)
        assert_problem(answer, 422, "cursor_invalid")


async def test_history_bad_input_is_a_problem_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    me = await _with_history(client, db, clock)
    before = await snapshot(db)
    for params, code in (
        ({"from": "2026-13-01"}, "validation_error"),
        ({"from": "05.10.2026"}, "validation_error"),
        ({"to": "2026-02-30"}, "validation_error"),
        ({"from": "1850-01-01"}, "validation_error"),
        ({"from": "2026-11-01", "to": "2026-10-01"}, "period_invalid"),
        ({"kind": "bogus"}, "validation_error"),
        ({"kind": "CHARGE"}, "validation_error"),
        ({"limit": "0"}, "validation_error"),
        ({"limit": "201"}, "validation_error"),
        ({"limit": "1.5"}, "validation_error"),
        ({"cursor": "x" * 600}, "validation_error"),
    ):
        answer = await client.get(_history(me), params=params, headers=me.bearer)
        assert_problem(answer, 422, code)
    assert await snapshot(db) == before


async def test_open_items_and_payments_of_the_own_account(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    msisdn, account = await sim_holder(db)
    async with db.session(write=True) as s:
        await charge(s, account, 40_000, due=dt.date(2026, 11, 10))
        await charge(s, account, 25_000, due=dt.date(2026, 12, 10))
    await pay_by_api(db, account, 30_000, "txn-1")
    await pay_by_api(db, account, 5_000, "txn-2")
    me = Me(msisdn, account, await login(client, db, msisdn))
    base = f"/v1/me/accounts/{account.number}"
    items = (await client.get(f"{base}/open-items", headers=me.bearer)).json()
    # 350 ₽ paid went to the oldest charge first: 50 ₽ of it left, then the newer one.
    assert [(i["side"], i["remaining_minor"], i["due_date"]) for i in items["items"]] == [
        ("debit", 5_000, "2026-11-10"),
        ("debit", 25_000, "2026-12-10"),
    ]
    every = (await client.get(f"{base}/open-items?state=all", headers=me.bearer)).json()
    assert len(every["items"]) == 4  # two charges, two payments (their credit items)
    paid = (await client.get(f"{base}/payments", headers=me.bearer)).json()
    assert [(p["amount_minor"], p["method"], p["status"]) for p in paid["items"]] == [
        (5_000, "api", "succeeded"),
        (30_000, "api", "succeeded"),
    ]
    # Nothing of the operator's insides: no source, transaction id, entry or actor.
    assert set(paid["items"][0]) == {
        "id", "amount_minor", "currency", "method", "status", "created_at", "booked_at",
    }  # fmt: skip
    first = (await client.get(f"{base}/payments?limit=1", headers=me.bearer)).json()
    second = (
        await client.get(
            f"{base}/payments",
            params={"limit": 1, "cursor": first["next_cursor"]},
            headers=me.bearer,
        )
    ).json()
    assert [p["amount_minor"] for p in first["items"] + second["items"]] == [5_000, 30_000]
    assert second["next_cursor"] is None
    # Another account's payments never show: a second customer paying changes nothing here.
    _, theirs = await sim_holder(db)
    await pay_by_api(db, theirs, 7_000, "txn-3")
    again = (await client.get(f"{base}/payments", headers=me.bearer)).json()
    assert [p["amount_minor"] for p in again["items"]] == [5_000, 30_000]
    assert isinstance(theirs, Account)
