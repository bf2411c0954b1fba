"""A supervisor in Chromium decides the nightly ladder's write-off proposals: sees both pending,
rejects one with a reason, approves the other, and the account's debt shown in the console drops
(the request's card, then the person page with the write-off in the history); axe on each page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from abonent.db.uow import Database
from abonent.kit import clock
from tests.browser.axe import assert_accessible
from tests.browser.conftest import run_db
from tests.collections.write_off_helpers import PASSPORTS, Proposal, ladder_proposals
from tests.staff.helpers import Employee, make_staff

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


def _plain(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, base: str, who: Employee) -> None:
    page.goto(base + "/console/login")
    page.fill("#login", who.login)
    page.fill("#password", who.password)
    page.fill("#totp", who.code())
    page.click("button[type=submit]")
    page.wait_for_url(base + "/console")


def test_supervisor_rejects_one_proposal_and_approves_another(
    live_server: str, env_db: str, browser: Browser
) -> None:
    async def setup(db: Database) -> tuple[list[Proposal], Employee]:
        # The server's clock is the real one: the ladder runs for today.
        return await ladder_proposals(db, clock.today()), await make_staff(db, "supervisor")

    (first, second), who = run_db(env_db, setup)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, live_server, who)

    page.get_by_role("link", name="Списания").click()
    page.wait_for_url(live_server + "/console/write-offs")
    cards = page.locator("[data-test=write-off]")
    expect(cards).to_have_count(2)
    one = page.locator(f"[data-test=write-off][data-id='{first.request_id}']")
    two = page.locator(f"[data-test=write-off][data-id='{second.request_id}']")
    expect(one.locator("[data-test=proposer]")).to_have_text("лестница взыскания (автоматически)")
    assert _plain(one.locator("[data-test=debt]").inner_text()) == "450,00 ₽"
    assert _plain(two.locator("[data-test=debt]").inner_text()) == "800,00 ₽"
    expect(one.locator("tbody tr")).to_have_count(2)
    assert_accessible(page)
    _shot(page, "write-offs-01-pending")

    # Reject asks for a reason: the browser keeps an empty one from being sent at all.
    one.locator("[data-test=reject]").click()
    assert page.url == live_server + "/console/write-offs"
    one.get_by_label("Причина отказа").fill("Абонент платит по графику")
    one.locator("[data-test=reject]").click()
    page.wait_for_url(f"**/console/write-offs?status=rejected&decided={first.request_id}")
    expect(page.locator("[data-test=decided]")).to_contain_text("отклонена")
    expect(page.locator("[data-test=rejection-reason]")).to_have_text("Абонент платит по графику")
    assert_accessible(page)

    page.get_by_role("link", name="Ждут решения").click()
    page.wait_for_url("**/console/write-offs?status=pending")
    expect(cards).to_have_count(1)
    two.locator("[data-test=approve]").click()
    page.wait_for_url(f"**/console/write-offs?status=approved&decided={second.request_id}")
    assert _plain(page.locator("[data-test=decided]").inner_text()) == (
        f"Заявка № {second.request_id}: списано 800,00 ₽, долг по счёту {second.number} "
        "теперь 0,00 ₽."
    )
    assert _plain(two.locator("[data-test=debt]").inner_text()) == "0,00 ₽"
    assert_accessible(page)
    _shot(page, "write-offs-02-approved")

    # The person page: the statement's debt is gone, the write-off is in the history.
    page.get_by_role("link", name="Поиск абонента").click()
    page.locator("#account").fill(second.number)
    page.locator("form:has(#account)").get_by_role("button", name="Найти").click()
    page.get_by_role("link", name="Проверить документ").click()
    page.wait_for_url(f"{live_server}/console/people/{second.customer_id}/check")
    page.get_by_label("Серия и номер (ввести с документа)").fill(PASSPORTS[1])
    page.get_by_label("Цель обращения").fill("проверка списания")
    page.get_by_role("button", name="Проверить").click()
    page.wait_for_url(f"{live_server}/console/people/{second.customer_id}")
    account = page.locator("section.account", has_text=second.number)
    facts = _plain(account.locator("dl.facts").inner_text())
    assert "Долг 0,00 ₽" in facts
    history = account.locator("table", has_text="История").locator("tbody tr").first
    assert _plain(history.inner_text()).startswith(f"{clock.today():%d.%m.%Y} списание")
    assert "800,00 ₽" in history.inner_text().replace("\u00a0", " ")
    assert_accessible(page)
    _shot(page, "write-offs-03-person")
    assert errors == []
    context.close()
