"""What the charges import and the fee run take and give back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

ProgressFn = Callable[[str, int, int | None], None]
"""``progress(phase, done, total)``: how far a long run is, for a progress bar. ``total`` may be
None while unknown. Services report; only the CLI draws."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One reason one line of a file was refused. Line 1 is the header."""

    line: int
    code: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "code": self.code, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"line {self.line}: {where}{self.message}"


class NewCharge(NamedTuple):
    """A charge resolved to its account and service, ready to become a debit open item."""

    external_id: str
    account_id: int
    service_id: int | None
    amount_minor: int
    """Kopecks, > 0."""
    kind: str
    """'usage', 'one_off' or 'fee'."""
    ledger: str
    """The revenue ledger credited: 'revenue:usage', 'revenue:mobile', …"""
    period: str
    charged_on: dt.date
    due_date: dt.date
    description: str
    line: int = 0
    """Line of the file it came from (0 when generated, as fees are)."""


@dataclass(slots=True)
class BatchResult:
    """What one unit of work wrote."""

    imported: int = 0
    already_there: int = 0
    total_minor: int = 0
    """Kopecks of the charges written in this batch."""
    accounts: int = 0
    """Accounts that received at least one new charge (one journal entry each)."""
    allocated_minor: int = 0
    """Kopecks of prepaid money that cleared the new charges right away."""


@dataclass(slots=True)
class ImportResult:
    rows: int = 0
    """Data rows in the file (blank lines not counted)."""
    imported: int = 0
    already_there: int = 0
    invalid: int = 0
    """Rows refused and skipped (only with ``skip_invalid``)."""
    total_minor: int = 0
    accounts: int = 0
    allocated_minor: int = 0
    batches: int = 0
    errors: list[RowError] = field(default_factory=list)
    sha256: str = ""

    def add(self, batch: BatchResult) -> None:
        self.imported += batch.imported
        self.already_there += batch.already_there
        self.total_minor += batch.total_minor
        self.accounts += batch.accounts
        self.allocated_minor += batch.allocated_minor
        self.batches += 1


@dataclass(slots=True)
class FeeRunResult:
    period: str
    services: int = 0
    """Services with a paid tariff that were active during the period."""
    posted: int = 0
    already_there: int = 0
    total_minor: int = 0
    partial: int = 0
    """Of the fees seen, those for part of the month (activated or closed inside the period)."""
    allocated_minor: int = 0
    batches: int = 0
