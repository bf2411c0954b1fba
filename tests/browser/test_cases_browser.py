"""Written requests and claims in Chromium, through the console and the cabinet.

A clerk signs in, checks a person's passport and files a claim against a charge with a PNG; a
supervisor sees it on the deadlines page and accepts it in part, and the account's balance shows
the credit. A subscriber files a request in the cabinet, a clerk answers it with the statement
attached, the subscriber reads the answer and downloads the statement (opened with pypdf).
axe-core on every new page."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from pypdf import PdfReader

from abonent.collections import service as collections
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.numbers import mask_msisdn
from abonent.models import Account
from tests.browser.axe import assert_accessible
from tests.browser.conftest import run_db
from tests.cases.helpers import PNG, msisdn_of
from tests.factories import charge, make_account, remember_secret
from tests.staff.helpers import Employee, make_staff
from tests.web.console_helpers import PASSPORT, Person, make_person

pytestmark = pytest.mark.browser
DESK: ViewportSize = {"width": 1280, "height": 900}
COLLECTOR = Actor("staff:anna", "collections")


@pytest.fixture
def evidence_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The live server keeps evidence files in a fresh directory (read from the environment)."""
    path = tmp_path / "evidence"
    monkeypatch.setenv("ABONENT_DISPUTES__EVIDENCE_DIR", str(path))
    return path


def _context(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=DESK, locale="ru-RU", accept_downloads=True)
    return context, context.new_page()


def _plain(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def _sign_in(page: Page, base: str, who: Employee) -> None:
    page.goto(base + "/console")
    page.wait_for_url(base + "/console/login?next=/console")
    page.get_by_label("Логин").fill(who.login)
    page.get_by_label("Пароль").fill(who.password)
    page.get_by_label("Код из приложения-аутентификатора").fill(who.code())
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(base + "/console")


def _check(page: Page, base: str, person: Person) -> None:
    page.locator("#passport").fill(PASSPORT)
    page.locator("form:has(#passport)").get_by_role("button", name="Найти").click()
    page.get_by_role("link", name="Проверить документ").click()
    page.get_by_label("Серия и номер (ввести с документа)").fill(PASSPORT)
    page.get_by_label("Цель обращения").fill("претензия по начислению")
    page.get_by_role("button", name="Проверить").click()
    page.wait_for_url(f"{base}/console/people/{person.id}")


def test_clerk_files_claim_with_file_supervisor_accepts_in_part(
    evidence_env: Path, live_server: str, env_db: str, browser: Browser, tmp_path: Path
) -> None:
    base = live_server

    async def setup(db: Database) -> tuple[Person, Employee, Employee]:
        # A debt handed over in October whose debtor was never told: the deadlines page lists it.
        async with db.session(write=True) as s:
            account, _ = await make_account(s)
            await charge(s, account, 10_000, due=dt.date(2026, 9, 1))
            agency = await collections.add_agency(
                s, name="ООО «Возврат»", inn="7707083893", actor=COLLECTOR
            )
            fresh = await s.get_one(Account, account.id)
            await collections.handover(
                s, fresh, agency.id, actor=COLLECTOR, as_of=dt.date(2026, 10, 1)
            )
        return (
            await make_person(db),
            await make_staff(db, "clerk"),
            await make_staff(db, "supervisor"),
        )

    person, clerk, boss = run_db(env_db, setup)
    scan = tmp_path / "чек.png"
    scan.write_bytes(PNG)

    context, page = _context(browser)
    _sign_in(page, base, clerk)
    _check(page, base, person)
    page.get_by_role("link", name="Претензия по начислению").click()
    page.wait_for_url(f"{base}/console/people/{person.id}/disputes/new")
    assert_accessible(page)
    form = page.locator("form").filter(has=page.get_by_text("450,00"))
    form.get_by_label(re.compile("450,00")).check()
    form.get_by_label("Текст претензии").fill("Не звонил 01.11, списание ошибочно")
    form.get_by_label(re.compile("^Файлы")).set_input_files(str(scan))
    form.get_by_role("button", name="Зарегистрировать претензию").click()
    page.wait_for_url(re.compile(re.escape(base) + r"/console/disputes/\d+$"))
    dispute_url = page.url
    expect(page.locator("[data-test=status]")).to_have_text("на рассмотрении")
    expect(page.locator("[data-test=evidence]")).to_have_text("чек.png")
    assert _plain(page.locator("[data-test=balance]").inner_text()) == "-570,00 ₽"
    assert_accessible(page)
    with page.expect_download() as got:
        page.locator("[data-test=evidence]").click()
    assert Path(got.value.path()).read_bytes() == PNG
    assert len(list(evidence_env.iterdir())) == 1
    page.goto(base + "/console/disputes")
    assert_accessible(page)
    context.close()

    context, page = _context(browser)
    _sign_in(page, base, boss)
    page.get_by_role("link", name="Сроки").click()
    page.wait_for_url(base + "/console/deadlines")
    expect(page.locator("[data-test=handover-notice]")).to_have_count(1)
    expect(page.locator("[data-test=handover-notice]")).to_contain_text("ООО «Возврат»")
    assert_accessible(page)
    page.goto(dispute_url)
    page.locator("[data-test=accept-amount]").fill("150,00")
    page.get_by_label("Обоснование (уйдёт абоненту)").fill("Два звонка списаны ошибочно")
    assert_accessible(page)
    page.get_by_role("button", name="Принять решение").click()
    page.wait_for_url(dispute_url)
    expect(page.locator("[data-test=status]")).to_have_text("удовлетворена частично")
    assert _plain(page.locator("[data-test=balance]").inner_text()) == "-420,00 ₽"
    expect(page.locator("[data-test=answer]")).to_have_text("Два звонка списаны ошибочно")
    assert_accessible(page)
    context.close()


def _code(base: str, msisdn: str) -> str:
    messages = httpx.get(f"{base}/dev/sms.json", trust_env=False).json()["messages"]
    mine = [m for m in messages if m["to"] == mask_msisdn(msisdn) and "входа" in m["text"]]
    newest = max(mine, key=lambda m: m["outbox_id"])
    found = re.search(r"входа в личный кабинет: (\d{6})", newest["text"])
    assert found, newest
    remember_secret(found.group(1))
    return found.group(1)


def test_subscriber_request_answered_with_statement(
    evidence_env: Path, live_server: str, env_db: str, browser: Browser
) -> None:
    base = live_server

    async def setup(db: Database) -> tuple[Account, str, Employee]:
        async with db.session(write=True) as s:
            account, _ = await make_account(s)
        return account, await msisdn_of(db, account), await make_staff(db, "clerk")

    account, msisdn, clerk = run_db(env_db, setup)

    cabinet = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="ru-RU", accept_downloads=True
    )
    me = cabinet.new_page()
    me.goto(base + "/cabinet/login")
    me.get_by_label("Номер телефона").fill(msisdn)
    me.get_by_role("button", name="Получить код").click()
    me.get_by_label("Код").fill(_code(base, msisdn))
    me.get_by_role("button", name="Войти").click()
    me.wait_for_url(base + "/cabinet/accounts")
    me.get_by_role("link", name="Мои обращения").click()
    me.wait_for_url(base + "/cabinet/cases")
    assert_accessible(me)
    me.get_by_role("link", name="Написать заявку").click()
    assert_accessible(me)
    me.get_by_label("Тема").select_option("debt_details")
    me.get_by_label("Текст заявки").fill("Прошу расшифровку долга по всем счетам")
    me.get_by_role("button", name="Отправить").click()
    me.wait_for_url(re.compile(re.escape(base) + r"/cabinet/cases/requests/\d+$"))
    request_url = me.url
    expect(me.locator("[data-test=status]")).to_have_text("На рассмотрении")
    assert_accessible(me)
    me.goto(base + "/cabinet/cases/disputes/new")
    assert_accessible(me)

    desk, page = _context(browser)
    _sign_in(page, base, clerk)
    page.get_by_role("link", name="Заявки").click()
    page.wait_for_url(re.compile(r"/console/requests"))
    assert_accessible(page)
    request_id = request_url.rsplit("/", 1)[1]
    page.locator(f"[data-test=request][data-id='{request_id}'] a").click()
    assert_accessible(page)
    page.get_by_label("Текст ответа").fill("Расшифровка долга во вложении")
    page.get_by_role("button", name="Отправить ответ").click()
    expect(page.locator("[data-test=status]")).to_have_text("ответ дан")
    desk.close()

    me.goto(request_url)
    expect(me.locator("[data-test=answer]")).to_have_text("Расшифровка долга во вложении")
    assert_accessible(me)
    with me.expect_download() as got:
        me.locator("[data-test=statement]").click()
    pdf = Path(got.value.path()).read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert f"Лицевой счёт {account.number}" in text
    me.goto(base + "/cabinet/lang/en?next=" + request_url.removeprefix(base))
    expect(me.locator("h1")).to_have_text(f"Request No. {request_id}")
    assert_accessible(me)
    cabinet.close()
