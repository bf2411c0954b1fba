"""A subscriber in Chromium, on a phone and on a desktop: request a code, read it from
/dev/sms.json, log in, see every account and the debt by service, take a promised payment, pay
the debt in two clicks through the sandbox acquirer and see the balance change on the
statement, a declined and a timed-out card payment, switch to English, log out. axe-core on
every page; a screenshot of each step in docs/screenshots/cabinet/."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock, use_clock
from abonent.kit.numbers import mask_msisdn
from abonent.models import Account, Service
from tests.browser.axe import assert_accessible
from tests.browser.conftest import run_db
from tests.conftest import NOW
from tests.factories import remember_secret
from tests.promised.helpers import subscriber

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "cabinet"
VIEWPORTS: dict[str, ViewportSize] = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 900},
}
RUB = "\u00a0₽"


def _customer(db_url: str) -> tuple[Account, list[Service], str]:
    """Debt on a SIM, the internet and TV, overdue, with a history that allows a promised
    payment."""

    async def work(db: Database) -> tuple[Account, list[Service]]:
        with use_clock(FrozenClock(NOW)) as frozen:
            assert isinstance(frozen, FrozenClock)
            return await subscriber(
                db,
                frozen,
                kinds=("mobile", "internet", "tv"),
                overdue=((0, 25_000), (1, 15_000), (2, 10_000)),
            )

    account, services = run_db(db_url, work)
    assert services[0].msisdn is not None
    return account, services, services[0].msisdn


def _code(base: str, msisdn: str) -> str:
    """The newest login code sent to ``msisdn``, as a developer reads it at /dev/sms.json."""
    messages = httpx.get(f"{base}/dev/sms.json", trust_env=False).json()["messages"]
    mine = [m for m in messages if m["to"] == mask_msisdn(msisdn) and "входа" in m["text"]]
    assert mine, messages
    newest = max(mine, key=lambda m: m["outbox_id"])
    found = re.search(r"входа в личный кабинет: (\d{6})", newest["text"])
    assert found, newest
    remember_secret(found.group(1))
    return found.group(1)


class Steps:
    def __init__(self, page: Page, size: str) -> None:
        self.page, self.size, self.n = page, size, 0

    def check(self, name: str) -> None:
        """axe, no sideways scrolling, and a screenshot of this step."""
        page = self.page
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
        assert_accessible(page)
        self.n += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{self.size}-{self.n:02d}-{name}.png"), full_page=True)


def _header_debt(page: Page) -> str:
    return page.locator("[data-test=header-debt]").inner_text()


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_subscriber_journey(env_db: str, live_server: str, browser: Browser, size: str) -> None:
    account, _services, msisdn = _customer(env_db)
    context = browser.new_context(viewport=VIEWPORTS[size], locale="ru-RU")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    steps = Steps(page, size)

    # Log in: the number, the code from the SMS.
    page.goto(live_server + "/cabinet")
    steps.check("start")
    page.get_by_role("link", name="Войти").click()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    page.get_by_label("Номер телефона").fill(msisdn)
    steps.check("login")
    page.get_by_role("button", name="Получить код").click()
    expect(page.get_by_role("heading", name="Код из SMS")).to_be_visible()
    page.get_by_label("Код").fill(_code(live_server, msisdn))
    steps.check("code")
    page.get_by_role("button", name="Войти").click()

    # Every account, each service with its debt; the debt in the header.
    page.wait_for_url(live_server + "/cabinet/accounts")
    rows = page.locator("[data-test=service]")
    expect(rows).to_have_count(3)
    assert [r.get_attribute("data-kind") for r in rows.all()] == ["mobile", "internet", "tv"]
    expect(page.locator("[data-test=service-debt]")).to_have_text(
        [f"250,00{RUB}", f"150,00{RUB}", f"100,00{RUB}"]
    )
    assert _header_debt(page) == f"500,00{RUB}"
    steps.check("accounts")

    # The promised payment: the offer, take it, its state.
    page.goto(f"{live_server}/cabinet/accounts/{account.number}/promised")
    expect(page.locator("[data-test=offer]")).to_be_visible()
    steps.check("promised-offer")
    page.get_by_role("button", name="Подключить").click()
    expect(page.locator("[data-test=in-force]")).to_be_visible()
    expect(page.locator("[data-test=taken]")).to_be_visible()
    steps.check("promised-in-force")

    # Pay the debt in two clicks: "Оплатить долг", then the bank's button.
    page.goto(live_server + "/cabinet/accounts")
    debt = _header_debt(page)
    pay = page.locator("[data-test=pay-debt]")
    expect(pay).to_contain_text(debt)
    pay.click()  # click one
    expect(page.get_by_role("heading", name="Оплата картой")).to_be_visible()
    expect(page.locator("[data-test=amount]")).to_have_text(debt)
    page.get_by_role("button", name="Оплатить успешно").click()  # click two
    page.wait_for_url(re.compile(re.escape(live_server) + r"/cabinet/pay/\d+$"))
    expect(page.locator("[data-test=result]")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_role("heading", name="Платёж зачислен")).to_be_visible()
    expect(page.locator("[data-test=no-debt]")).to_be_visible()
    assert page.locator("[data-test=header-debt]").count() == 0
    steps.check("paid")

    # The statement shows the payment and the new balance.
    page.get_by_role("link", name="К счёту и выписке").click()
    expect(page.locator("[data-test=line][data-kind=payment]").first).to_be_visible()
    closing = page.locator("[data-test=closing]").inner_text()
    assert closing == page.locator("[data-test=balance]").inner_text()
    assert not closing.startswith("-")
    steps.check("statement")
    with page.expect_download() as download:
        page.locator("[data-test=csv]").click()
    assert download.value.suggested_filename.endswith(".csv")

    # A declined card payment, then a timed-out one, of any amount.
    for action, status, heading in (
        ("Отклонить", "failed", "Платёж не прошёл"),
        ("Таймаут", "unknown", "Статус платежа уточняется"),
    ):
        page.goto(f"{live_server}/cabinet/accounts/{account.number}")
        page.get_by_label("Другая сумма, ₽").fill("100")
        page.get_by_role("button", name="Оплатить картой").click()
        expect(page.locator("[data-test=amount]")).to_have_text(f"100,00{RUB}")
        page.get_by_role("button", name=action).click()
        page.wait_for_url(re.compile(r"/cabinet/pay/\d+$"))
        expect(page.locator("[data-test=result]")).to_have_attribute("data-status", status)
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        assert page.locator("[data-test=new-balance]").inner_text() == closing
        steps.check(f"card-{status}")

    # A refused amount, an unknown account, the sessions.
    page.goto(f"{live_server}/cabinet/accounts/{account.number}")
    page.get_by_label("Другая сумма, ₽").fill("12,345")
    page.get_by_role("button", name="Оплатить картой").click()
    expect(page.locator("[data-test=refusal]")).to_be_visible()
    steps.check("pay-refused")
    page.goto(live_server + "/cabinet/accounts/00000000000")
    expect(page.get_by_role("heading", name="Страница не найдена")).to_be_visible()
    steps.check("not-found")
    page.goto(live_server + "/cabinet/sessions")
    expect(page.locator("[data-test=session][data-current='1']")).to_have_count(1)
    steps.check("sessions")

    # English, then log out.
    page.goto(live_server + "/cabinet/accounts")
    page.get_by_role("link", name="English").click()
    page.wait_for_url(live_server + "/cabinet/accounts")
    expect(page.get_by_role("heading", name="My accounts")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    steps.check("accounts-en")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to your account")).to_be_visible()
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    steps.check("logged-out-en")
    page.goto(live_server + "/cabinet/accounts")
    page.wait_for_url(re.compile(r"/cabinet/login\?next="))
    # No CSP violation, no script error; the only failed loads are the pages answered on purpose
    # with 422 (the refused amount) and 404 (the unknown account; the sandbox's /favicon.ico).
    assert [e for e in errors if "status of 422" not in e and "status of 404" not in e] == []
    context.close()


def test_public_find_and_refusal_pages(env_db: str, live_server: str, browser: Browser) -> None:
    account, services, _msisdn = _customer(env_db)
    tv = services[2]
    assert tv.smart_card and tv.chip_id
    context = browser.new_context(viewport=VIEWPORTS["phone"], locale="ru-RU")
    page = context.new_page()
    steps = Steps(page, "phone")
    steps.n = 50
    page.goto(live_server + "/cabinet/find")
    steps.check("find")
    page.get_by_label("Номер смарт-карты").fill(tv.smart_card)
    page.get_by_label("Chip ID приставки").fill(tv.chip_id)
    page.locator("[data-test=find-tv] button").click()
    expect(page.locator("[data-test=found]")).to_have_text(account.number)
    steps.check("find-found")
    # A form whose CSRF cookie is gone (another tab logged out, a stale page): refused.
    page.goto(live_server + "/cabinet/login")
    context.clear_cookies()
    page.get_by_label("Номер телефона").fill("+79160000000")
    page.get_by_role("button", name="Получить код").click()
    expect(page.get_by_role("heading", name="Форма устарела")).to_be_visible()
    steps.check("csrf-refused")
    # Too many codes asked from one address: the page says when to retry.
    for _ in range(6):
        page.goto(live_server + "/cabinet/login")
        page.get_by_label("Номер телефона").fill("+79160000001")
        page.get_by_role("button", name="Получить код").click()
    expect(page.get_by_role("heading", name="Слишком много попыток")).to_be_visible()
    expect(page.locator("[data-test=retry]")).to_contain_text("Повторите через")
    steps.check("too-many")
    context.close()
