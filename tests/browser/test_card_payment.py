"""A payer in a real browser: the sandbox page, the result page, and the money on the account."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.models import Account, AccountBalance, CardPayment, WebhookEvent
from tests.browser.conftest import run_db, settle
from tests.factories import api_key, auth
from tests.payments.api.helpers import account_with_debt

pytestmark = pytest.mark.browser

AMOUNT = 50_000
PHONE = {"width": 390, "height": 844}


def _setup(db_url: str) -> tuple[Account, str]:
    async def work(db: Database) -> tuple[Account, str]:
        return await account_with_debt(db, 30_000), await api_key(db, "integration")

    return run_db(db_url, work)


def _balance(db_url: str, account_id: int) -> tuple[int, int]:
    async def work(db: Database) -> tuple[int, int]:
        async with db.session() as s:
            row = await s.get(AccountBalance, account_id)
            assert row is not None
            return row.balance_minor, row.debt_minor

    return run_db(db_url, work)


def _card_status(db_url: str, card_id: int) -> str:
    async def work(db: Database) -> str:
        async with db.session() as s:
            card = await s.get(CardPayment, card_id)
            assert card is not None
            return card.status

    return run_db(db_url, work)


def _webhook_events(db_url: str) -> int:
    async def work(db: Database) -> int:
        async with db.session() as s:
            return await s.scalar(select(func.count()).select_from(WebhookEvent)) or 0

    return run_db(db_url, work)


def _start(base: str, key: str, account: Account) -> dict[str, Any]:
    r = httpx.post(
        f"{base}/v1/card-payments",
        json={"account_number": account.number, "amount_minor": AMOUNT, "currency": "RUB"},
        headers={**auth(key), "Idempotency-Key": f"browser-{account.number}"},
        trust_env=False,
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    assert data["redirect_url"].startswith(f"{base}/sandbox/acquiring/sbx_")
    return data


def _open_sandbox(browser: Browser, data: dict[str, Any]) -> Page:
    page = browser.new_context(viewport=PHONE, locale="ru-RU").new_page()
    page.goto(data["redirect_url"])
    expect(page.get_by_role("heading", name="Оплата картой")).to_be_visible()
    expect(page.locator("[data-test=amount]")).to_have_text("500,00\u00a0₽")
    expect(page.locator("[data-test=merchant]")).to_have_text("Абонент")
    # Fits a phone: no sideways scrolling, every button on screen width.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for label in ("Оплатить успешно", "Отклонить", "Таймаут"):
        expect(page.get_by_role("button", name=label)).to_be_visible()
    return page


def _result_url(data: dict[str, Any]) -> re.Pattern[str]:
    return re.compile(re.escape(data["result_url"]))


def test_success_credits_the_account(env_db: str, live_server: str, browser: Browser) -> None:
    account, key = _setup(env_db)
    assert _balance(env_db, account.id) == (-30_000, 30_000)
    data = _start(live_server, key, account)
    page = _open_sandbox(browser, data)

    page.get_by_role("button", name="Оплатить успешно").click()
    expect(page).to_have_url(_result_url(data))
    expect(page.get_by_role("heading", name="Платёж зачислен")).to_be_visible()
    expect(page.locator("[data-test=result]")).to_contain_text("500,00\u00a0₽")
    expect(page.locator("[data-test=result]")).to_contain_text(f"****{account.number[-4:]}")

    balance, debt = _balance(env_db, account.id)
    assert balance - (-30_000) == AMOUNT
    assert (balance, debt) == (20_000, 0)
    assert _card_status(env_db, data["id"]) == "succeeded"
    # The sandbox's webhook reached the server over real HTTP, once.
    assert _webhook_events(env_db) == 1
    # Reloading the page books nothing more.
    page.reload()
    expect(page.get_by_role("heading", name="Платёж зачислен")).to_be_visible()
    assert _balance(env_db, account.id) == (20_000, 0)


def test_decline_books_nothing(env_db: str, live_server: str, browser: Browser) -> None:
    account, key = _setup(env_db)
    data = _start(live_server, key, account)
    page = _open_sandbox(browser, data)

    page.get_by_role("button", name="Отклонить").click()
    expect(page).to_have_url(_result_url(data))
    expect(page.get_by_role("heading", name="Платёж не прошёл")).to_be_visible()
    expect(page.locator("[data-test=result]")).to_contain_text("Деньги не списаны")
    assert _card_status(env_db, data["id"]) == "failed"
    assert _balance(env_db, account.id) == (-30_000, 30_000)


def test_timeout_is_unknown_until_settle(env_db: str, live_server: str, browser: Browser) -> None:
    account, key = _setup(env_db)
    data = _start(live_server, key, account)
    page = _open_sandbox(browser, data)

    page.get_by_role("button", name="Таймаут").click()
    expect(page).to_have_url(_result_url(data))
    expect(page.get_by_role("heading", name="Статус платежа уточняется")).to_be_visible()
    assert _card_status(env_db, data["id"]) == "unknown"
    assert _balance(env_db, account.id) == (-30_000, 30_000)

    # The bank finishes it in its back office; its notification is lost.
    page.goto(data["redirect_url"])
    expect(page.locator("[data-test=status]")).to_contain_text("обрабатывается")
    page.get_by_role("button", name="Банк подтвердил списание").click()
    expect(page.locator("[data-test=status]")).to_contain_text("Оплата прошла успешно")
    assert _card_status(env_db, data["id"]) == "unknown"

    done = settle({"ABONENT_DATABASE_URL": env_db})
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"succeeded \(booked\)\s*│\s*1\b", done.stdout), done.stdout
    assert _card_status(env_db, data["id"]) == "succeeded"
    assert _balance(env_db, account.id) == (20_000, 0)

    page.goto(data["result_url"])
    expect(page.get_by_role("heading", name="Платёж зачислен")).to_be_visible()
