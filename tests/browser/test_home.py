"""The front page a person lands on after `make demo`, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_front_page_leads_to_the_api_documentation(live_server: str, browser: Browser) -> None:
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "Абонент"
    assert "SQLite" in page.inner_text("main") or "PostgreSQL" in page.inner_text("main")
    page.get_by_role("link", name="Состояние сервиса").click()
    assert '"status":"ok"' in page.inner_text("body").replace(" ", "")
    page.goto(live_server + "/")
    page.get_by_role("link", name="API для сотрудников и интеграций (OpenAPI)").click()
    page.wait_for_selector("text=Abonent")
    assert page.url == live_server + "/docs"
