"""Accessibility checks with axe-core (pinned in package.json, installed by `make browser`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def assert_accessible(page: Page) -> None:
    """Fail on every serious or critical axe violation of the page as it is now."""
    assert AXE.is_file(), f"{AXE} is missing: run `make browser` (npm ci)"
    # Evaluated through the DevTools protocol, which the page's CSP (script-src 'self', no
    # inline) does not govern: the page under test keeps its real policy.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    blocking = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]
    assert blocking == [], "\n".join(blocking)
