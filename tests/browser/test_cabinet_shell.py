"""The cabinet's public pages in Chromium at phone and desktop sizes: axe, no sideways scroll,
the language switch, no console error (a CSP violation would be one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from tests.browser.axe import assert_accessible

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "cabinet"
VIEWPORTS: dict[str, ViewportSize] = {
    "phone": {"width": 360, "height": 780},
    "desktop": {"width": 1280, "height": 800},
}


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_public_pages_both_languages(live_server: str, browser: Browser, size: str) -> None:
    context = browser.new_context(viewport=VIEWPORTS[size], locale="ru-RU")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server + "/cabinet")
    assert page.locator("h1").inner_text() == "Личный кабинет"
    _no_sideways_scroll(page)
    assert_accessible(page)
    _shot(page, f"{size}-01-start-ru")
    page.get_by_role("link", name="English").click()
    page.wait_for_url(live_server + "/cabinet")
    assert page.locator("h1").inner_text() == "My account"
    assert page.locator("html").get_attribute("lang") == "en"
    assert_accessible(page)
    _shot(page, f"{size}-02-start-en")
    page.goto(live_server + "/cabinet/offline")
    assert page.locator("h1").inner_text() == "No connection"
    _no_sideways_scroll(page)
    assert_accessible(page)
    page.get_by_role("link", name="Русский").click()
    page.wait_for_url(live_server + "/cabinet/offline")
    assert page.locator("h1").inner_text() == "Нет соединения"
    _shot(page, f"{size}-03-offline-ru")
    assert errors == []  # no CSP violation, no script error
    context.close()
