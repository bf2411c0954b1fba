"""The collections team in Chromium: sign in with password and TOTP, read the dashboards (charts
drawn, numbers beside, CSV), prepare a court-order application, download it, record a stage;
axe on every page."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from pypdf import PdfReader
from sqlalchemy import select

from abonent.collections import service as collections
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.models import CollectionAssignment
from tests.browser.axe import assert_accessible
from tests.browser.conftest import run_db
from tests.staff.helpers import Employee, make_staff
from tests.web.test_console_collections import portfolio

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


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


def test_dashboards_and_court(
    live_server: str, env_db: str, browser: Browser, tmp_path: Path
) -> None:
    async def setup(db: Database) -> tuple[str, Employee]:
        held = await portfolio(db)
        return held.number, await make_staff(db, "collections")

    number, who = run_db(env_db, setup)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="ru-RU", accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status == 404 else None)
    _sign_in(page, live_server, who)

    page.click("text=Сводки")
    page.wait_for_url(live_server + "/console/dashboards")
    charts = page.locator("figure img")
    assert charts.count() == 5
    # Every chart loaded (an SVG refused by the CSP or failing would have no natural width).
    page.wait_for_function(
        "Array.from(document.querySelectorAll('figure img'))"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert "Долг-Контроль" in page.locator("#dash-agencies + figure + table").inner_text()
    assert_accessible(page)
    _shot(page, "collections-01-dashboards")
    with page.expect_download() as got:
        page.click("text=Скачать CSV: Долг по видам услуг")
    csv_path = tmp_path / "services.csv"
    got.value.save_as(csv_path)
    assert csv_path.read_text(encoding="utf-8-sig").startswith("label;amount;count")

    # The agency held the debt for the dashboards; the court needs it back (refusal: web tests).
    async def recall(db: Database) -> None:
        async with db.session(write=True) as s:
            assignment = await s.scalar(select(CollectionAssignment.id))
            assert assignment is not None
            await collections.recall(
                s, assignment, actor=Actor("staff:anna", "collections"), as_of=dt.date(2026, 11, 17)
            )

    run_db(env_db, recall)
    page.click("nav >> text=Суд")
    page.wait_for_url(live_server + "/console/court")
    assert_accessible(page)
    page.fill("#account", number)
    page.click("text=Подготовить пакет")
    page.wait_for_url(f"{live_server}/console/court/*")
    assert "пакет подготовлен" in page.locator("h1").inner_text()
    assert_accessible(page)
    _shot(page, "collections-02-court-case")
    with page.expect_download() as got:
        page.click("text=Скачать заявление (PDF)")
    pdf_path = tmp_path / "application.pdf"
    got.value.save_as(pdf_path)
    text = " ".join(
        (PdfReader(io.BytesIO(pdf_path.read_bytes())).pages[0].extract_text() or "").split()
    )
    assert "Заявление о вынесении судебного приказа" in text and number in text

    page.select_option("#stage", "filed")
    page.fill("#note", "судебный участок № 5")
    page.click("text=Сохранить")
    page.wait_for_load_state()
    assert "заявление подано" in page.locator("h1").inner_text()
    assert "судебный участок № 5" in page.inner_text("main")
    _shot(page, "collections-03-court-filed")
    assert errors == []
    context.close()
