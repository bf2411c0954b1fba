"""The second coverage gate of ``make test``: 100 % of lines and branches where money moves.

``coverage report`` already holds the whole tree to the floor in ``pyproject.toml``; this holds
the ledger package, the charge writer, and the payment booking and reversal functions to 100 %,
as measured by the run just combined. A module or function named here that no longer exists
fails the gate too, so a move cannot quietly drop it.

Usage: ``python .ci/coverage_gate.py`` from the repository root, after ``coverage combine``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import coverage

# Whole modules, as globs relative to the repository root.
MODULES = ("src/abonent/ledger/*.py", "src/abonent/charges/writer.py")
# Functions of modules that also do other things than move money.
FUNCTIONS = {
    "src/abonent/payments/service.py": ("check_payable", "book_payment", "reverse_payment"),
}


def main() -> int:
    cov = coverage.Coverage()
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        cov.json_report(outfile=str(out))
        files: dict[str, dict] = json.loads(out.read_text())["files"]
    root = Path.cwd()
    failures: list[str] = []
    checked = 0
    for pattern in MODULES:
        on_disk = sorted(p.relative_to(root).as_posix() for p in root.glob(pattern))
        if not on_disk:
            failures.append(f"{pattern}: no such module")
        for path in on_disk:
            checked += 1
            data = files.get(path)
            if data is None:
                failures.append(f"{path}: never imported by the tests")
                continue
            failures += _short(path, data)
    for path, names in FUNCTIONS.items():
        data = files.get(path)
        for name in names:
            checked += 1
            region = (data or {}).get("functions", {}).get(name)
            if region is None:
                failures.append(f"{path}:{name}: no such function measured")
                continue
            failures += _short(f"{path}:{name}", region)
    for line in failures:
        print(f"money coverage below 100%: {line}")
    if failures:
        return 2
    print(f"money coverage: 100% of lines and branches in {checked} modules and functions")
    return 0


def _short(where: str, data: dict) -> list[str]:
    missing_lines = data.get("missing_lines", [])
    missing_branches = data.get("missing_branches", [])
    if not missing_lines and not missing_branches:
        return []
    parts = []
    if missing_lines:
        parts.append("lines " + ", ".join(map(str, missing_lines)))
    if missing_branches:
        parts.append("branches " + ", ".join(f"{a}->{b}" for a, b in missing_branches))
    return [f"{where}: {'; '.join(parts)}"]


if __name__ == "__main__":
    sys.exit(main())
