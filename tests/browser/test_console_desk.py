"""The staff console in Chromium: a clerk at the desk, a hotline operator, a supervisor.

The clerk signs in with password and TOTP (the code computed with pyotp from the secret), finds
the person by passport, records the check, sees two accounts with the debt by service, downloads
the statement of debt (opened with pypdf, its sums checked against the statement read model) and
takes a payment at the desk; the hotline operator sees masked data only; the supervisor reads
the audit of that person. axe-core on every console page; screenshots for docs/console.md.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pypdf import PdfReader
from sqlalchemy import select

from abonent.accounts import service as accounts
from abonent.db.uow import Database
from abonent.kit.money import format_money
from abonent.models import Payment
from abonent.statement import service as statements
from tests.browser.axe import assert_accessible
from tests.browser.conftest import run_db
from tests.staff.helpers import Employee, make_staff
from tests.web.console_helpers import FULL_NAME, PASSPORT, PHONE, Person, make_person

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
DESK = {"width": 1280, "height": 900}


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _setup(db_url: str) -> tuple[Person, dict[str, Employee]]:
    async def work(db: Database) -> tuple[Person, dict[str, Employee]]:
        person = await make_person(db)
        staff = {role: await make_staff(db, role) for role in ("clerk", "hotline", "supervisor")}
        staff["new"] = await make_staff(db, "clerk", "novikova")
        return person, staff

    return run_db(db_url, work)


def _debts(db_url: str, person: Person) -> dict[str, list[tuple[str, int]]]:
    """Per account, (service label, debt) as the statement read model has them, plus the total."""

    async def work(db: Database) -> dict[str, list[tuple[str, int]]]:
        out: dict[str, list[tuple[str, int]]] = {}
        async with db.session() as s:
            for number in (person.mobile_number, person.tv_number):
                st = await statements.statement_for(s, await accounts.get_account(s, number))
                out[number] = [("", st.debt_minor)] + [
                    (d.label, d.debt_minor) for d in st.debt_by_service
                ]
        return out

    return run_db(db_url, work)


def _payments(db_url: str) -> list[tuple[int, str]]:
    async def work(db: Database) -> list[tuple[int, str]]:
        async with db.session() as s:
            rows = (await s.scalars(select(Payment).order_by(Payment.id))).all()
            return [(p.amount_minor, p.method) for p in rows]

    return run_db(db_url, work)


def _context(browser: Browser) -> tuple[BrowserContext, Page, list[str]]:
    context = browser.new_context(viewport=DESK, locale="ru-RU", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page, errors


def _sign_in(page: Page, base: str, who: Employee, shot: str | None = None) -> None:
    page.goto(base + "/console")
    page.wait_for_url(base + "/console/login?next=/console")
    assert_accessible(page)
    page.get_by_label("Логин").fill(who.login)
    page.get_by_label("Пароль").fill(who.password)
    page.get_by_label("Код из приложения-аутентификатора").fill(who.code())
    if shot:
        _shot(page, shot)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(base + "/console")
    expect(page.locator("h1")).to_have_text("Поиск абонента")


def _find_and_check(page: Page, base: str, person: Person, by: str, prefix: str | None) -> None:
    if by == "passport":
        page.locator("#passport").fill(PASSPORT)
        page.locator("form:has(#passport)").get_by_role("button", name="Найти").click()
    else:
        page.locator("#msisdn").fill("8 916 111-22-33")
        page.locator("form:has(#msisdn)").get_by_role("button", name="Найти").click()
    expect(page.locator("#results")).to_have_text("Найдено: 1")
    row = page.locator("tbody tr")
    expect(row).to_contain_text("Петров П. П.")
    expect(row).to_contain_text("45** ***456")
    assert FULL_NAME not in page.content()
    assert_accessible(page)
    if prefix:
        _shot(page, f"{prefix}-02-found")
    page.get_by_role("link", name="Проверить документ").click()
    page.wait_for_url(f"{base}/console/people/{person.id}/check")
    assert_accessible(page)
    page.get_by_label("Серия и номер (ввести с документа)").fill(PASSPORT)
    page.get_by_label("Цель обращения").fill(
        "узнать долг по всем счетам" if by == "passport" else "звонок: баланс и долг"
    )
    if prefix:
        _shot(page, f"{prefix}-03-check")
    page.get_by_role("button", name="Проверить").click()
    page.wait_for_url(f"{base}/console/people/{person.id}")


def _refusal_seen(errors: list[str], status: int) -> None:
    """A page answered with ``status`` on purpose: Chromium logs that load as a console error;
    anything else logged (a CSP violation, a script error) still fails."""
    errors[:] = [e for e in errors if f"status of {status}" not in e]


def _plain(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def test_desk_hotline_and_supervisor(
    live_server: str, env_db: str, browser: Browser, tmp_path: Path
) -> None:
    base = live_server
    person, staff = _setup(env_db)
    debts = _debts(env_db, person)

    # --- the clerk at the desk -------------------------------------------------------------
    context, page, errors = _context(browser)
    _sign_in(page, base, staff["clerk"], shot="desk-01-login")
    _find_and_check(page, base, person, "passport", "desk")
    expect(page.locator("h1")).to_have_text(FULL_NAME)
    accounts_shown = page.locator("section.account")
    expect(accounts_shown).to_have_count(2)
    for number, lines in debts.items():
        section = page.locator(f"section.account:has(h3#acc-{number})")
        for label, debt in lines[1:]:
            row = section.locator("tr", has_text=label)
            expect(row.first).to_contain_text(format_money(debt))
    assert PHONE in page.content()
    assert_accessible(page)
    _shot(page, "desk-04-person")

    with page.expect_download() as download:
        page.get_by_role("link", name="Справка о задолженности (PDF)").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = _plain("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    assert "Справка о задолженности" in text and FULL_NAME in text
    total = 0
    for number, lines in debts.items():
        assert f"Лицевой счёт {number}" in text
        assert _plain(f"Задолженность: {format_money(lines[0][1])}") in text
        total += lines[0][1]
        for _label, debt in lines[1:]:
            assert _plain(format_money(debt)) in text
    assert total == 87_050
    assert _plain(f"Итого задолженность: {format_money(total)}") in text

    mobile = page.locator(f"section.account:has(h3#acc-{person.mobile_number})")
    mobile.get_by_label("Сумма платежа, ₽").fill("450,00")
    mobile.get_by_role("button", name="Принять платёж").click()
    page.wait_for_url(f"{base}/console/people/{person.id}?done=payment")
    expect(page.locator("p.ok")).to_contain_text("Платёж принят")
    assert _payments(env_db) == [(45_000, "office")]
    after = _debts(env_db, person)
    expect(mobile.locator("dl.facts").first).to_contain_text(
        format_money(after[person.mobile_number][0][1])
    )
    assert after[person.mobile_number][0][1] == 57_000 - 45_000
    assert_accessible(page)
    _shot(page, "desk-05-paid")
    page.get_by_role("button", name="Выйти").click()
    page.wait_for_url(base + "/console/login")
    assert errors == []
    context.close()

    # --- the hotline operator: masked data, exact amounts ---------------------------------
    context, page, errors = _context(browser)
    _sign_in(page, base, staff["hotline"], shot=None)
    _find_and_check(page, base, person, "msisdn", "hotline")
    html = page.content()
    expect(page.locator("h1")).to_have_text("Петров П. П.")
    assert FULL_NAME not in html and PHONE not in html and PASSPORT not in html
    assert "+7 916 ***-**-33" in html and "17.05.1980" not in html
    assert "111-22-33" not in html and "750012345678" not in html
    assert "Принять платёж" not in html and "Справка о задолженности" not in html
    expect(page.locator("p.notice")).to_contain_text("Данные скрыты")
    tv = page.locator(f"section.account:has(h3#acc-{person.tv_number})")
    expect(tv).to_contain_text(format_money(30_050))
    assert_accessible(page)
    _shot(page, "hotline-04-person-masked")
    tv.get_by_role("button", name="Реквизиты по SMS на номер из карточки").click()
    page.wait_for_url(f"{base}/console/people/{person.id}?done=sms")
    expect(page.locator("p.ok")).to_contain_text("SMS с реквизитами")
    _shot(page, "hotline-05-sms")
    page.goto(f"{base}/console/people/{person.id}/audit")
    expect(page.locator("h1")).to_have_text("Нет доступа")
    assert_accessible(page)
    _refusal_seen(errors, 403)
    assert errors == []
    context.close()

    # --- the supervisor: who looked, when, why --------------------------------------------
    context, page, errors = _context(browser)
    _sign_in(page, base, staff["supervisor"], shot=None)
    page.goto(f"{base}/console/people/{person.id}")
    expect(page.locator("h1")).to_have_text("Данные закрыты")
    assert FULL_NAME not in page.content()
    assert_accessible(page)
    _refusal_seen(errors, 403)
    page.goto(f"{base}/console/people/{person.id}/audit")
    expect(page.locator("h1")).to_have_text("Кто смотрел данные абонента")
    table = page.locator("table")
    clerk, hotline = staff["clerk"], staff["hotline"]
    expect(table).to_contain_text(f"staff:{clerk.staff_id}:{clerk.login}")
    expect(table).to_contain_text(f"staff:{hotline.staff_id}:{hotline.login}")
    expect(table).to_contain_text("узнать долг по всем счетам")
    expect(table).to_contain_text("звонок: баланс и долг")
    expect(table).to_contain_text("платёж в офисе")
    expect(table).to_contain_text("справка о задолженности (PDF)")
    expect(table).to_contain_text("реквизиты по SMS")
    assert PASSPORT not in page.content()
    assert_accessible(page)
    _shot(page, "supervisor-audit")
    # A form whose CSRF token was tampered with: the "stale form" page, and still signed in.
    page.evaluate("document.querySelector('input[name=csrf_token]').value = 'forged.0'")
    page.get_by_role("button", name="Выйти").click()
    expect(page.locator("h1")).to_have_text("Форма устарела")
    assert_accessible(page)
    _refusal_seen(errors, 403)
    page.goto(base + "/console")
    expect(page.locator("h1")).to_have_text("Поиск абонента")
    assert errors == []
    context.close()

    # --- a first sign-in: the QR once, then the code --------------------------------------
    context, page, errors = _context(browser)
    new = staff["new"]
    page.goto(base + "/console/login")
    page.get_by_label("Логин").fill(new.login)
    page.get_by_label("Пароль").fill(new.password)
    page.get_by_role("button", name="Войти").click()
    expect(page.locator("h1")).to_have_text("Подключение приложения-аутентификатора")
    expect(page.get_by_role("img")).to_have_count(1)
    assert_accessible(page)
    _shot(page, "first-sign-in-qr")
    page.get_by_label("Код из приложения").fill(new.code())
    page.get_by_role("button", name="Подтвердить и войти").click()
    page.wait_for_url(base + "/console")
    # A wrong code: the answer in words, and the page is accessible too.
    page.get_by_role("button", name="Выйти").click()
    page.wait_for_url(base + "/console/login")
    page.get_by_label("Логин").fill(new.login)
    page.get_by_label("Пароль").fill("not-the-password")
    page.get_by_label("Код из приложения-аутентификатора").fill("000000")
    page.get_by_role("button", name="Войти").click()
    expect(page.locator("p.error")).to_contain_text("Неверный логин, пароль или код")
    assert_accessible(page)
    _refusal_seen(errors, 401)
    assert errors == []
    context.close()

    log = (tmp_path / "server.log").read_text()
    for who in staff.values():
        assert who.password not in log and who.totp_secret not in log
    assert PASSPORT not in log and "4510123456" not in log
