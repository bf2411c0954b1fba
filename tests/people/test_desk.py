"""At the desk: a payment (clerk, one per form key) and a promised payment (clerk, hotline)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from abonent.accounts import service as accounts
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import Account, AccountBalance, AuditEvent, Payment
from tests.api.helpers import assert_problem, snapshot
from tests.promised.helpers import subscriber
from tests.staff.helpers import bearer, make_staff, sign_in


async def _checked(
    client: httpx.AsyncClient, db: Database, account: Account, role: str
) -> dict[str, str]:
    headers = bearer(await sign_in(client, await make_staff(db, role)))
    async with db.session() as session:
        customer = await accounts.get_customer(session, account.customer_id)
        assert customer.passport_enc is not None
        passport = accounts.pii().decrypt(customer.passport_enc)
    response = await client.post(
        f"/v1/people/{account.customer_id}/identity-checks",
        json={
            "document_type": "passport_ru",
            "series_number": passport,
            "purpose": "оплата в офисе",
            "channel": "desk",
        },
        headers=headers,
    )
    assert response.json()["result"] == "match"
    return headers


async def _debt(db: Database, account: Account) -> int:
    async with db.session() as session:
        row = await session.get(AccountBalance, account.id)
        assert row is not None
        return row.debt_minor


async def test_desk_payment_once_per_form(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _ = await subscriber(db, clock)
    assert await _debt(db, account) == 25_000
    headers = await _checked(client, db, account, "clerk")
    url = f"/v1/people/{account.customer_id}/payments"
    body = {"account_number": account.number, "amount_minor": 25_000}
    before = await snapshot(db)
    assert_problem(
        await client.post(url, json=body, headers=headers), 400, "idempotency_key_missing"
    )
    assert await snapshot(db) == before
    form = {**headers, "Idempotency-Key": "form-1"}
    first = await client.post(url, json=body, headers=form)
    assert first.status_code == 201, first.text
    again = await client.post(url, json=body, headers=form)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await _debt(db, account) == 0
    async with db.session() as session:
        [payment] = (await session.scalars(select(Payment))).all()
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.object_type == "person")
            )
        ).all()
    assert (payment.amount_minor, payment.method, payment.source) == (25_000, "office", "office")
    assert payment.actor.startswith("staff:")
    assert list(actions) == ["people.identity_check", "people.payment"]


async def test_hotline_may_not_take_money_but_may_take_a_promised_payment(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _ = await subscriber(db, clock)
    headers = await _checked(client, db, account, "hotline")
    form = {**headers, "Idempotency-Key": "form-2"}
    before = await snapshot(db)
    refused = await client.post(
        f"/v1/people/{account.customer_id}/payments",
        json={"account_number": account.number, "amount_minor": 100},
        headers=form,
    )
    assert_problem(refused, 403, "staff.role_forbidden")
    taken = await client.post(
        f"/v1/people/{account.customer_id}/promised-payment",
        json={"account_number": account.number, "amount_minor": 20_000},
        headers={**headers, "Idempotency-Key": "promise-1"},
    )
    assert taken.status_code == 201, taken.text
    assert (taken.json()["amount_minor"], taken.json()["fee_minor"]) == (20_000, 1_000)
    assert taken.json()["status"] == "in_force"
    assert before != await snapshot(db)


async def test_collections_may_not_take_a_promised_payment(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, _ = await subscriber(db, clock)
    headers = await _checked(client, db, account, "collections")
    before = await snapshot(db)
    refused = await client.post(
        f"/v1/people/{account.customer_id}/promised-payment",
        json={"account_number": account.number, "amount_minor": 20_000},
        headers={**headers, "Idempotency-Key": "promise-2"},
    )
    assert_problem(refused, 403, "staff.role_forbidden")
    after = await snapshot(db)
    # The refusal is remembered under its key (a retry gets the same answer); nothing else.
    assert {k: v for k, v in after.items() if k != "idempotency_keys"} == {
        k: v for k, v in before.items() if k != "idempotency_keys"
    }
