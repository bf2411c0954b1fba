"""The fuzz suite's figures: requests sent and server errors found, per backend, printed at the
end of the run (issue 8 asks for both numbers; the tests themselves assert zero 5xx)."""

from __future__ import annotations

from collections import Counter

import pytest

FIGURES: Counter[str] = Counter()
"""'<suite>:<backend>:requests' and '<suite>:<backend>:5xx', filled in by the tests."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fuzz figures")
    for key in sorted(FIGURES):
        terminalreporter.write_line(f"{key}: {FIGURES[key]}")
