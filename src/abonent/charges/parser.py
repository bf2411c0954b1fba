"""Reading a rating file: every field checked, every bad line reported, nothing from the database.

The layout is documented in ``docs/charges.md``. Parsing is the hot loop of a large import, so
values that repeat across lines (account numbers, periods, dates, amounts) are parsed once and
remembered.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from abonent.charges.errors import PeriodInvalid
from abonent.charges.schemas import ProgressFn, RowError
from abonent.kit.errors import InvalidInput
from abonent.kit.inputs import MAX_DATE, MIN_DATE, text_fault
from abonent.kit.money import parse_amount

if TYPE_CHECKING:
    import _csv

COLUMNS = (
    "external_id",
    "account_number",
    "service",
    "amount",
    "kind",
    "period",
    "charged_on",
    "due_date",
    "description",
)
REQUIRED = frozenset({"external_id", "account_number", "amount", "kind", "period", "charged_on"})
KINDS = ("usage", "one_off")
# One charge of more than ten million roubles on a personal account is a rating bug, not a bill.
MAX_AMOUNT_MINOR = 1_000_000_000
# Monthly fees are generated here under this prefix; a rating file may not use it.
RESERVED_PREFIX = "fee:"
MAX_EXTERNAL_ID = 128
MAX_DESCRIPTION = 255

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PLAIN_AMOUNT = re.compile(r"(\d{1,12})(?:\.(\d{1,2}))?")
# A control character anywhere but at the ends of lines; a quoted cell spanning lines is caught
# by its row spanning lines.
_CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_PROGRESS_EVERY = 20_000
_CACHE_LIMIT = 200_000

T = TypeVar("T")


class ParsedCharge(NamedTuple):
    """One well-formed line, not yet matched against accounts and services."""

    line: int
    external_id: str
    account_number: str
    """Normalised (spaces and dashes removed, check digit verified)."""
    service: str
    """As written ('' = an account-level charge); resolved against the account later."""
    amount_minor: int
    kind: str
    period: str
    charged_on: dt.date
    due_date: dt.date | None
    """None: charged_on + settings.default_due_days."""
    description: str


@dataclass(slots=True)
class ParsedFile:
    rows: list[ParsedCharge] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    data_rows: int = 0
    sha256: str = ""


def parse_period(text: str) -> tuple[int, int]:
    """'2026-11' -> (2026, 11); anything else is refused."""
    match = _PERIOD.match((text or "").strip())
    if not match:
        raise PeriodInvalid(f"period must be YYYY-MM, got {text!r}")
    year, month = int(match[1]), int(match[2])
    if not 2000 <= year <= 2099:
        raise PeriodInvalid(f"period year out of range: {text!r}")
    return year, month


def parse_charges(
    data: bytes | str,
    *,
    today: dt.date,
    parse_account: Callable[[str], str],
    progress: ProgressFn | None = None,
) -> ParsedFile:
    """Check the shape of every line. Errors are collected, never raised."""
    result = ParsedFile()
    if isinstance(data, bytes):
        result.sha256 = hashlib.sha256(data).hexdigest()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            result.errors.append(RowError(line, "file_encoding", "the file is not valid UTF-8"))
            return result
    else:
        result.sha256 = hashlib.sha256(data.encode()).hexdigest()
        text = data.removeprefix("\ufeff")
    total_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        # One scan of the whole text: a clean file (the usual case) pays nothing per line.
        scan_cells = _CONTROL.search(text) is not None
        _parse(reader, result, today, parse_account, progress, total_lines, scan_cells)
    except csv.Error as exc:
        result.errors.append(
            RowError(
                reader.line_num,
                "file_malformed",
                f"not readable as CSV ({exc}); nothing after this line was read",
            )
        )
    return result


def _parse(
    reader: _csv.Reader,
    result: ParsedFile,
    today: dt.date,
    parse_account: Callable[[str], str],
    progress: ProgressFn | None,
    total_lines: int,
    scan_cells: bool,
) -> None:
    header: list[str] | None = None
    for raw_header in reader:
        if raw_header and any(cell.strip() for cell in raw_header):
            header = [cell.strip().lower() for cell in raw_header]
            break
    if header is None:
        result.errors.append(RowError(1, "file_empty", "the file has no header line"))
        return
    header_line = reader.line_num
    problems = _check_header(header)
    if problems:
        result.errors += [RowError(header_line, "header_invalid", p) for p in problems]
        result.data_rows = sum(1 for row in reader if row and any(c.strip() for c in row))
        return

    index = {name: i for i, name in enumerate(header)}
    width = len(header)
    i_ext, i_acc, i_amt = index["external_id"], index["account_number"], index["amount"]
    i_kind, i_period, i_on = index["kind"], index["period"], index["charged_on"]
    i_srv, i_due, i_desc = index.get("service"), index.get("due_date"), index.get("description")

    accounts: dict[str, str | InvalidInput] = {}
    amounts: dict[str, int | InvalidInput] = {}
    periods: dict[str, str | None] = {}
    dates: dict[str, dt.date | str] = {}
    first_line: dict[str, int] = {}
    repeated: dict[str, list[int]] = {}
    rows, errors = result.rows, result.errors
    previous_end = reader.line_num
    count = 0

    for row in reader:
        line = previous_end + 1
        previous_end = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        count += 1
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress("validating", previous_end, total_lines)
        if len(row) != width:
            errors.append(RowError(line, "row_width", f"expected {width} fields, found {len(row)}"))
            continue
        if scan_cells or previous_end > line:
            refused = _control_characters(row, header, line)
            if refused:
                # Stripped, such a cell would pass for what the rating system did not send.
                errors.append(refused)
                continue
        bad: list[RowError] = []

        external_id = row[i_ext].strip()
        if not external_id:
            bad.append(RowError(line, "external_id_missing", "is empty", "external_id"))
        else:
            if len(external_id) > MAX_EXTERNAL_ID or not external_id.isprintable():
                bad.append(
                    RowError(
                        line,
                        "external_id_invalid",
                        f"must be 1-{MAX_EXTERNAL_ID} printable characters",
                        "external_id",
                    )
                )
            elif external_id.startswith(RESERVED_PREFIX):
                bad.append(
                    RowError(
                        line,
                        "external_id_reserved",
                        f"ids starting with {RESERVED_PREFIX!r} are reserved for monthly fees",
                        "external_id",
                    )
                )
            seen = first_line.setdefault(external_id, line)
            if seen != line:
                repeated.setdefault(external_id, [seen]).append(line)

        raw = row[i_acc]
        account = accounts.get(raw)
        if account is None:
            account = _attempt(parse_account, raw)
            accounts[raw] = account
        if isinstance(account, InvalidInput):
            bad.append(RowError(line, account.code, account.detail, "account_number"))

        raw = row[i_amt]
        plain = _PLAIN_AMOUNT.fullmatch(raw)
        # The usual spelling ("123.45") directly; anything else as parse_amount says.
        kopecks = int(plain[1]) * 100 + int((plain[2] or "0").ljust(2, "0")) if plain else 0
        amount: int | InvalidInput = kopecks
        if not 0 < kopecks <= MAX_AMOUNT_MINOR:
            found = amounts.get(raw)
            if found is None:
                found = _amount(raw)
                if len(amounts) < _CACHE_LIMIT:
                    amounts[raw] = found
            amount = found
            if isinstance(amount, InvalidInput):
                bad.append(RowError(line, amount.code, amount.detail, "amount"))

        kind = row[i_kind].strip()
        if kind not in KINDS:
            bad.append(
                RowError(
                    line, "kind_invalid", f"must be one of {', '.join(KINDS)}, got {kind!r}", "kind"
                )
            )

        raw = row[i_period]
        period = periods.get(raw, "")
        if period == "":
            period = _period(raw)
            periods[raw] = period
        if period is None:
            bad.append(RowError(line, "period_invalid", f"must be YYYY-MM, got {raw!r}", "period"))

        charged_on = _date(dates, row[i_on])
        if isinstance(charged_on, str):
            bad.append(RowError(line, "date_invalid", charged_on, "charged_on"))
        elif charged_on > today:
            bad.append(
                RowError(line, "date_in_future", f"{charged_on} is after today", "charged_on")
            )

        due_date: dt.date | str | None = None
        if i_due is not None and row[i_due].strip():
            due_date = _date(dates, row[i_due])
            if isinstance(due_date, str):
                bad.append(RowError(line, "date_invalid", due_date, "due_date"))
            elif isinstance(charged_on, dt.date) and due_date < charged_on:
                bad.append(RowError(line, "due_before_charge", "is before charged_on", "due_date"))

        description = row[i_desc].strip() if i_desc is not None else ""
        if len(description) > MAX_DESCRIPTION:
            bad.append(
                RowError(
                    line,
                    "description_too_long",
                    f"at most {MAX_DESCRIPTION} characters",
                    "description",
                )
            )

        if bad:
            errors += bad
            continue
        rows.append(
            ParsedCharge(
                line,
                external_id,
                account,  # type: ignore[arg-type]
                row[i_srv].strip() if i_srv is not None else "",
                amount,  # type: ignore[arg-type]
                kind,
                period,  # type: ignore[arg-type]
                charged_on,  # type: ignore[arg-type]
                due_date,  # type: ignore[arg-type]
                description,
            )
        )

    result.data_rows = count
    if repeated:
        _refuse_repeated(result, repeated)
    if progress is not None:
        progress("validating", total_lines, total_lines)


def _control_characters(row: list[str], header: list[str], line: int) -> RowError | None:
    for name, cell in zip(header, row, strict=True):
        fault = text_fault(cell)
        if fault:
            return RowError(line, "control_character", f"must not contain {fault}", name)
    return None


def _check_header(header: list[str]) -> list[str]:
    problems = []
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        problems.append(
            f"unknown columns {', '.join(map(repr, unknown))}; known: {', '.join(COLUMNS)}"
        )
    doubled = sorted({name for name in header if header.count(name) > 1})
    if doubled:
        problems.append(f"columns given twice: {', '.join(doubled)}")
    missing = [name for name in COLUMNS if name in REQUIRED and name not in header]
    if missing:
        problems.append(f"required columns missing: {', '.join(missing)}")
    return problems


def _refuse_repeated(result: ParsedFile, repeated: dict[str, list[int]]) -> None:
    """Every line of a repeated external id is refused: which one is right cannot be known."""
    refused: set[int] = set()
    for external_id, lines in repeated.items():
        where = ", ".join(map(str, lines))
        for line in lines:
            refused.add(line)
            result.errors.append(
                RowError(
                    line,
                    "external_id_repeated",
                    f"{external_id!r} appears more than once in the file (lines {where})",
                    "external_id",
                )
            )
    result.rows = [row for row in result.rows if row.line not in refused]
    result.errors.sort(key=lambda e: e.line)


def _attempt(fn: Callable[[str], T], raw: str) -> T | InvalidInput:
    try:
        return fn(raw)
    except InvalidInput as exc:
        return exc


def _amount(raw: str) -> int | InvalidInput:
    try:
        value = parse_amount(raw)
    except InvalidInput as exc:
        return exc
    if value <= 0:
        return InvalidInput(f"must be greater than zero, got {raw.strip()!r}", code="amount_zero")
    if value > MAX_AMOUNT_MINOR:
        return InvalidInput(
            f"more than {MAX_AMOUNT_MINOR // 100:,} roubles in one charge: {raw.strip()!r}".replace(
                ",", " "
            ),
            code="amount_too_large",
        )
    return value


def _period(raw: str) -> str | None:
    try:
        year, month = parse_period(raw)
    except PeriodInvalid:
        return None
    return f"{year:04d}-{month:02d}"


def _date(cache: dict[str, dt.date | str], raw: str) -> dt.date | str:
    """A date, or the reason it is not one (remembered either way)."""
    found = cache.get(raw)
    if found is not None:
        return found
    text = raw.strip()
    value: dt.date | str
    if not text:
        value = "is empty"
    elif not _DATE.match(text):
        value = f"must be an ISO date YYYY-MM-DD, got {text!r}"
    else:
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            value = f"no such date: {text!r}"
        else:
            if not MIN_DATE <= value <= MAX_DATE:
                value = f"must be between {MIN_DATE} and {MAX_DATE}, got {text!r}"
    cache[raw] = value
    return value
