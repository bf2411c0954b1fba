"""The console's notice pages in Chromium: the hotline check (genuine, forged), the reports,
a customer's contact page; axe on each."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from abonent.contact import service as contact
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.notices import service as notices
from tests.browser.axe import assert_accessible
from tests.browser.conftest import run_db
from tests.notices.helpers import at, code_of, debtor, send, sms_texts
from tests.staff.helpers import Employee, make_staff

pytestmark = pytest.mark.browser


def _data(db_url: str) -> tuple[str, str, int, Employee]:
    async def work(db: Database) -> tuple[str, str, int, Employee]:
        account = await debtor(db)
        await send(db, account, "first", at(2026, 11, 18, 12))
        [text] = await sms_texts(db)
        async with db.session(write=True) as s:
            await notices.report(
                s, sender="MTS-Pay", text="Оплатите по ссылке", channel="api", client_key="x"
            )
            await contact.set_block(
                s,
                account.customer_id,
                kind="deceased",
                reason="Свидетельство",
                actor=Actor("staff:anna", "collections"),
            )
        who = await make_staff(db, "hotline")
        return code_of(text), account.number[-4:], account.customer_id, who

    return run_db(db_url, work)


def test_console_notice_pages(live_server: str, browser: Browser, env_db: str) -> None:
    code, last4, customer_id, who = _data(env_db)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ru-RU")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(live_server + "/console/login")
    page.locator("#login").fill(who.login)
    page.locator("#password").fill(who.password)
    page.locator("#totp").fill(who.code())
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(live_server + "/console")
    page.get_by_role("link", name="Проверка SMS").click()
    page.wait_for_url(live_server + "/console/notices/verify")
    assert_accessible(page)
    page.get_by_label("Код проверки").fill(code)
    page.get_by_label("4 последние цифры лицевого счёта").fill(last4)
    page.get_by_role("button", name="Проверить").click()
    page.locator('[data-test="genuine"]').wait_for()
    assert "18.11.2026" in page.locator('[data-test="genuine"]').inner_text()
    assert_accessible(page)
    page.get_by_label("Код проверки").fill("1")
    page.get_by_label("4 последние цифры лицевого счёта").fill(last4)
    page.get_by_role("button", name="Проверить").click()
    page.locator('[data-test="forged"]').wait_for()
    assert_accessible(page)
    page.get_by_role("link", name="Подозрительные SMS").click()
    page.wait_for_url(live_server + "/console/notices/reports")
    assert page.locator('[data-test="total"]').inner_text() == "1"
    assert_accessible(page)
    page.goto(f"{live_server}/console/customers/{customer_id}/contact")
    assert "смерть" in page.locator('[data-test="blocks"]').inner_text()
    assert "отправлено" in page.locator('[data-test="log"]').inner_text()
    assert_accessible(page)
    page.get_by_role("link", name="Журнал контактов").click()
    page.wait_for_url(live_server + "/console/contact-log")
    assert page.locator('[data-test="decision"]').count() == 1
    page.get_by_label("Решение").select_option("deferred")
    page.get_by_role("button", name="Показать").click()
    page.wait_for_url(live_server + "/console/contact-log?verdict=deferred")
    assert page.locator('[data-test="decision"]').count() == 0
    assert_accessible(page)
    assert missing == []
    # The console shell has no favicon yet: the browser's own request for it 404s (it is not a
    # response of the page, so ``missing`` does not see it). Anything else is an error.
    assert [e for e in errors if "Failed to load resource" not in e] == []
    context.close()
