"""The cabinet's "Проверить SMS" page in Chromium: a genuine notice, a forged one, a report,
English; axe on every state; no console error."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from abonent.db.uow import Database
from tests.browser.axe import assert_accessible
from tests.browser.conftest import run_db
from tests.notices.helpers import at, code_of, debtor, send, sms_texts

pytestmark = pytest.mark.browser


def _notice(db_url: str) -> tuple[str, str]:
    async def work(db: Database) -> tuple[str, str]:
        account = await debtor(db)
        await send(db, account, "first", at(2026, 11, 18, 12))
        [text] = await sms_texts(db)
        return code_of(text), account.number[-4:]

    return run_db(db_url, work)


def test_check_sms_genuine_forged_and_report(
    live_server: str, browser: Browser, env_db: str
) -> None:
    code, last4 = _notice(env_db)
    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="ru-RU")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server + "/cabinet")
    page.get_by_role("link", name="Проверить SMS").click()
    page.wait_for_url(live_server + "/cabinet/check-sms")
    assert page.locator("h1").inner_text() == "Проверить SMS о долге"
    assert_accessible(page)
    page.get_by_label("Код проверки из SMS").fill(code)
    page.get_by_label("4 последние цифры лицевого счёта").fill(last4)
    page.get_by_role("button", name="Проверить", exact=True).click()
    genuine = page.locator('[data-test="genuine"]')
    genuine.wait_for()
    assert "Отправлено 18.11.2026" in genuine.inner_text()
    assert "1 050,00 ₽" in genuine.inner_text().replace("\u00a0", " ")
    assert_accessible(page)
    page.get_by_label("Код проверки из SMS").fill("1" if code != "1" else "2")
    page.get_by_label("4 последние цифры лицевого счёта").fill(last4)
    page.get_by_role("button", name="Проверить", exact=True).click()
    forged = page.locator('[data-test="forged"]')
    forged.wait_for()
    assert "Мы не отправляли это сообщение." in forged.inner_text()
    assert "8-800-250-08-90" in forged.inner_text()
    assert_accessible(page)
    page.get_by_label("Отправитель").fill("MTS-Pay")
    page.get_by_label("Текст SMS").fill("Ваш долг 5000 руб. Оплатите по ссылке")
    page.get_by_role("button", name="Сообщить").click()
    page.locator('[data-test="reported"]').wait_for()
    assert_accessible(page)
    page.get_by_role("link", name="English").click()
    page.wait_for_url(live_server + "/cabinet/check-sms")
    assert page.locator("h1").inner_text() == "Check a debt SMS"
    assert_accessible(page)
    assert errors == []
    context.close()
