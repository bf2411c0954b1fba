"""The card flow end to end in process: API → sandbox page → webhook → result page."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from abonent.accounts.service import change_account_status
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import Account, AuditEvent, Payment, SandboxAcquiringPayment, WebhookEvent
from abonent.payments.acquiring import service as cards
from abonent.payments.acquiring.sandbox import SandboxProvider
from tests.factories import ACTOR, api_key, auth
from tests.payments.acquiring.helpers import card, path_of, start, state
from tests.payments.api.helpers import account_with_debt, balance

NBSP = "\u00a0"


async def test_start_gives_a_pending_payment_and_the_sandbox_page(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 30_000)
    key = await api_key(db, "integration")
    data = await start(web, key, account, 50_000, return_url="https://lk.example.ru/after")
    assert data["status"] == "pending"
    assert data["provider"] == "sandbox"
    assert re.fullmatch(r"sbx_[0-9a-f]{24}", data["provider_ref"])
    assert data["redirect_url"] == f"http://127.0.0.1:8000/sandbox/acquiring/{data['provider_ref']}"
    assert re.fullmatch(
        rf"http://127\.0\.0\.1:8000/pay/card/{data['id']}/result\?t=[0-9a-f]{{32}}",
        data["result_url"],
    )
    assert (data["amount_minor"], data["currency"], data["account_number"]) == (
        50_000,
        "RUB",
        account.number,
    )
    assert (data["payment_id"], data["return_url"]) == (None, "https://lk.example.ru/after")
    got = await web.get(f"/v1/card-payments/{data['id']}", headers=auth(key))
    assert got.status_code == 200 and got.json() == data

    async with db.session() as s:
        row = await s.scalar(select(SandboxAcquiringPayment))
        assert row is not None
        assert (row.ref, row.amount_minor, row.status) == (data["provider_ref"], 50_000, "created")
        assert row.notify_url == "http://127.0.0.1:8000/webhooks/acquiring/sandbox"
        assert row.return_url == data["result_url"]
        assert row.description == f"Оплата услуг связи, ЛС ****{account.number[-4:]}"

    page = await web.get(path_of(data["redirect_url"]))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert f"500,00{NBSP}₽" in html
    assert "Абонент" in html
    for label in ("Оплатить успешно", "Отклонить", "Таймаут"):
        assert label in html
    assert 'name="viewport"' in html
    css = await web.get("/sandbox/acquiring/assets/sandbox.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    # Nothing is booked before the payer pays.
    assert await balance(db, account) == (-30_000, 30_000)


async def test_success_books_once_through_the_webhook(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 30_000)
    key = await api_key(db, "integration")
    data = await start(web, key, account, 50_000)
    ref = data["provider_ref"]

    r = await web.post(f"/sandbox/acquiring/{ref}/pay", data={"action": "succeed"})
    assert r.status_code == 303
    assert r.headers["location"] == data["result_url"]
    # The webhook was delivered (in process) before the payer is sent back.
    paid = await card(db, data["id"])
    assert paid.status == "succeeded" and paid.payment_id is not None
    assert await balance(db, account) == (20_000, 0)
    async with db.session() as s:
        payment = await s.get(Payment, paid.payment_id)
        assert payment is not None
        assert (payment.method, payment.source, payment.source_txn_id, payment.amount_minor) == (
            "card",
            "card:sandbox",
            ref,
            50_000,
        )
        events = (await s.scalars(select(WebhookEvent))).all()
        assert len(events) == 1 and events[0].payload["ref"] == ref
        actions = sorted(
            (
                await s.scalars(
                    select(AuditEvent.action).where(AuditEvent.object_type == "card_payment")
                )
            ).all()
        )
        assert actions == ["card_payment.create", "card_payment.succeeded"]

    result = await web.get(path_of(data["result_url"]))
    assert result.status_code == 200
    assert "Платёж зачислен" in result.text
    assert f"500,00{NBSP}₽" in result.text
    assert f"****{account.number[-4:]}" in result.text
    assert account.number not in result.text  # masked on a public page

    # Pressing a button again changes nothing (the sandbox payment is final).
    before = await state(db)
    again = await web.post(f"/sandbox/acquiring/{ref}/pay", data={"action": "succeed"})
    assert again.status_code == 303 and again.headers["location"] == f"/sandbox/acquiring/{ref}"
    await web.get(path_of(data["result_url"]))
    assert await state(db) == before
    api = (await web.get(f"/v1/card-payments/{data['id']}", headers=auth(key))).json()
    assert (api["status"], api["payment_id"]) == ("succeeded", paid.payment_id)


async def test_decline_marks_failed_and_books_nothing(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 30_000)
    key = await api_key(db, "integration")
    data = await start(web, key, account, 50_000)
    r = await web.post(f"/sandbox/acquiring/{data['provider_ref']}/pay", data={"action": "decline"})
    assert r.status_code == 303
    failed = await card(db, data["id"])
    assert (failed.status, failed.payment_id) == ("failed", None)
    assert failed.failure_reason == "Отказ банка-эмитента (песочница)"
    assert await balance(db, account) == (-30_000, 30_000)
    page = await web.get(path_of(data["result_url"]))
    assert "Платёж не прошёл" in page.text and "Деньги не списаны" in page.text
    async with db.session() as s:
        assert (await s.scalars(select(Payment))).all() == []


async def test_timeout_is_unknown_until_settled(
    db: Database, web: httpx.AsyncClient, sandbox: SandboxProvider, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 30_000)
    key = await api_key(db, "integration")
    data = await start(web, key, account, 50_000)
    ref = data["provider_ref"]
    r = await web.post(f"/sandbox/acquiring/{ref}/pay", data={"action": "timeout"})
    assert r.status_code == 303 and r.headers["location"] == data["result_url"]
    # No webhook: the bank has not decided. Still pending until someone asks.
    assert (await card(db, data["id"])).status == "pending"
    page = await web.get(path_of(data["result_url"]))
    assert "Статус платежа уточняется" in page.text
    assert "Платить повторно не нужно" in page.text
    assert (await card(db, data["id"])).status == "unknown"  # never failed

    # Settlement asks again: the bank still says processing.
    summary = await cards.settle(db, sandbox)
    assert summary.as_dict() == {
        "examined": 1,
        "succeeded": 0,
        "failed": 0,
        "unknown": 1,
        "pending": 0,
        "errors": 0,
        "idempotency_keys_purged": 0,
    }
    assert await balance(db, account) == (-30_000, 30_000)

    # The sandbox page shows its back office while processing; the bank confirms (no webhook).
    sb = await web.get(f"/sandbox/acquiring/{ref}")
    assert "Панель банка" in sb.text and "Банк подтвердил списание" in sb.text
    r = await web.post(f"/sandbox/acquiring/{ref}/resolve", data={"outcome": "succeeded"})
    assert r.status_code == 303
    assert (await card(db, data["id"])).status == "unknown"

    summary = await cards.settle(db, sandbox)
    assert (summary.examined, summary.succeeded) == (1, 1)
    settled = await card(db, data["id"])
    assert settled.status == "succeeded" and settled.payment_id is not None
    assert await balance(db, account) == (20_000, 0)
    # Nothing left to settle; a second run books nothing.
    assert (await cards.settle(db, sandbox)).examined == 0
    assert await balance(db, account) == (20_000, 0)
    assert "Платёж зачислен" in (await web.get(path_of(data["result_url"]))).text


async def test_settle_fails_a_timeout_the_bank_declined(
    db: Database, web: httpx.AsyncClient, sandbox: SandboxProvider, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 0)
    data = await start(web, await api_key(db, "integration"), account, 1_000)
    await web.post(f"/sandbox/acquiring/{data['provider_ref']}/pay", data={"action": "timeout"})
    await sandbox.resolve(data["provider_ref"], "declined")
    # The payer never came back: the payment is pending, and settled once it is 15 minutes old.
    assert (await cards.settle(db, sandbox)).examined == 0
    clock.advance(minutes=15)
    summary = await cards.settle(db, sandbox)
    assert (summary.examined, summary.failed) == (1, 1)
    assert (await card(db, data["id"])).status == "failed"
    assert await balance(db, account) == (0, 0)


async def test_settle_waits_for_the_payer_then_expires(
    db: Database, web: httpx.AsyncClient, sandbox: SandboxProvider, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 0)
    data = await start(web, await api_key(db, "integration"), account, 1_000)
    # Young pending payments are left alone (the payer may be on the page).
    assert (await cards.settle(db, sandbox)).examined == 0
    clock.advance(minutes=20)
    summary = await cards.settle(db, sandbox)
    assert (summary.examined, summary.pending) == (1, 1)
    clock.advance(minutes=11)  # the sandbox's payment page lives 30 minutes
    summary = await cards.settle(db, sandbox)
    assert (summary.examined, summary.failed) == (1, 1)
    expired = await card(db, data["id"])
    assert (expired.status, expired.failure_reason) == (
        "failed",
        "Время на оплату истекло (песочница)",
    )
    # The payer can no longer pay on the expired page.
    r = await web.post(f"/sandbox/acquiring/{data['provider_ref']}/pay", data={"action": "succeed"})
    assert r.status_code == 303 and r.headers["location"].startswith("/sandbox/acquiring/")
    assert (await card(db, data["id"])).status == "failed"
    assert await balance(db, account) == (0, 0)


async def test_landing_books_when_the_webhook_is_lost(
    db: Database, card_app: FastAPI, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    card_app.state.acquiring_provider = cards.build_provider(
        db, card_app.state.settings, transport=httpx.MockTransport(unreachable)
    )
    account = await account_with_debt(db, 30_000)
    data = await start(web, await api_key(db, "integration"), account, 50_000)
    r = await web.post(f"/sandbox/acquiring/{data['provider_ref']}/pay", data={"action": "succeed"})
    assert r.status_code == 303
    assert (await card(db, data["id"])).status == "pending"  # the webhook never arrived
    page = await web.get(path_of(r.headers["location"]))
    assert "Платёж зачислен" in page.text
    assert (await card(db, data["id"])).status == "succeeded"
    assert await balance(db, account) == (20_000, 0)


async def test_card_payment_refusals_change_nothing(
    db: Database, web: httpx.AsyncClient, clock: FrozenClock
) -> None:
    account = await account_with_debt(db, 0)
    key = await api_key(db, "integration")
    to_close = await account_with_debt(db, 0)
    async with db.session(write=True) as s:
        closed = await s.get(Account, to_close.id)
        assert closed is not None
        await change_account_status(s, closed, "closed", actor=ACTOR, reason="test")
    before = await state(db)
    cases = [
        ({"amount_minor": 0}, 422, "validation_error"),
        ({"amount_minor": 10.5}, 422, "validation_error"),
        ({"amount_minor": "100"}, 422, "validation_error"),
        ({"currency": "USD"}, 422, "currency_mismatch"),
        ({"return_url": "javascript:alert(1)"}, 422, "validation_error"),
        ({"account_number": closed.number}, 422, "account_not_payable"),
        ({"account_number": "1"}, 422, "account_number_format"),
    ]
    for change, status, code in cases:
        payload = {
            "account_number": account.number,
            "amount_minor": 100,
            "currency": "RUB",
            **change,
        }
        r = await web.post("/v1/card-payments", json=payload, headers=auth(key))
        assert (r.status_code, r.json()["code"]) == (status, code), change
    assert await state(db) == before


@pytest.mark.parametrize(
    ("role", "status"), [("hotline", 403), ("collections", 403), ("clerk", 201)]
)
async def test_who_may_start_a_card_payment(
    db: Database, web: httpx.AsyncClient, role: str, status: int
) -> None:
    account = await account_with_debt(db, 0)
    r = await web.post(
        "/v1/card-payments",
        json={"account_number": account.number, "amount_minor": 100, "currency": "RUB"},
        headers=auth(await api_key(db, role)),
    )
    assert r.status_code == status
    if status == 403:
        assert (await state(db)).card_statuses == ()


async def test_idempotency_key_on_card_payments(db: Database, web: httpx.AsyncClient) -> None:
    account = await account_with_debt(db, 0)
    key = await api_key(db, "integration")
    payload = {"account_number": account.number, "amount_minor": 100, "currency": "RUB"}
    h = {**auth(key), "Idempotency-Key": "cabinet-click-1"}
    first = await web.post("/v1/card-payments", json=payload, headers=h)
    second = await web.post("/v1/card-payments", json=payload, headers=h)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.content == first.content
    other = await web.post("/v1/card-payments", json={**payload, "amount_minor": 200}, headers=h)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert len((await state(db)).sandbox) == 1


async def test_result_page_needs_its_token(db: Database, web: httpx.AsyncClient) -> None:
    account = await account_with_debt(db, 0)
    data = await start(web, await api_key(db, "integration"), account, 100)
    for url in (
        f"/pay/card/{data['id']}/result",
        f"/pay/card/{data['id']}/result?t=00000000000000000000000000000000",
        f"/pay/card/{data['id'] + 1}/result?t={data['result_url'].split('t=')[1]}",
        "/pay/card/abc/result?t=x",
        "/pay/card/0/result?t=x",
    ):
        r = await web.get(url)
        assert r.status_code == 404, url
        assert "Платёж не найден" in r.text
    assert (await web.get("/sandbox/acquiring/sbx_nope")).status_code == 404
    assert (await web.get("/v1/card-payments/999", headers=auth(await api_key(db)))).json()[
        "code"
    ] == "card_payment_not_found"


async def test_provider_down_at_start_is_503_and_failed(
    db: Database,
    card_app: FastAPI,
    web: httpx.AsyncClient,
    sandbox: SandboxProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def down(**_kw: object) -> None:
        raise OSError("connection reset")

    monkeypatch.setattr(sandbox, "start", down)
    account = await account_with_debt(db, 0)
    r = await web.post(
        "/v1/card-payments",
        json={"account_number": account.number, "amount_minor": 100, "currency": "RUB"},
        headers=auth(await api_key(db, "integration")),
    )
    assert (r.status_code, r.json()["code"]) == (503, "acquiring_provider_unavailable")
    st = await state(db)
    assert [s for _, s in st.card_statuses] == ["failed"]
    assert st.sandbox == () and st.payments == 0
