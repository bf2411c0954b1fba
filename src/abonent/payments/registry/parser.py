"""Reading an agent's daily registry: a CSV whose columns, delimiter, encoding and date format
vary by agent. Every line is validated; a file with any bad line is refused as a whole, with
every bad line named, because reconciling part of a registry would report the rest as
"unknown to the agent".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from zoneinfo import ZoneInfo

from abonent.kit.errors import AbonentError
from abonent.kit.inputs import MAX_DATE, MIN_DATE, text_fault
from abonent.kit.money import format_plain, parse_amount
from abonent.kit.numbers import clean_account_number
from abonent.payments.registry.errors import RegistryInvalid, RegistryOptionsInvalid

FIELDS = ("txn_id", "account", "sum", "txn_date")
REQUIRED = ("txn_id", "account", "sum")
SKIP = ("-", "_", "")
DEFAULT_COLUMNS = ("txn_id", "account", "sum", "txn_date")
ENCODINGS = {
    "utf-8": "utf-8-sig",
    "utf8": "utf-8-sig",
    "cp1251": "cp1251",
    "windows-1251": "cp1251",
}
DELIMITERS = {";": ";", ",": ",", "tab": "\t", "\\t": "\t", "\t": "\t", "|": "|"}
# Tried in order when no --date-format is given: OSMP's own form first, then the usual ones.
DATE_FORMATS = (
    "%Y%m%d%H%M%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y",
)
MAX_TXN_ID = 128
MAX_ACCOUNT = 32
MAX_PROBLEMS_IN_DETAIL = 1000
TRAILER_FIELDS = ("count", "sum")
DEFAULT_TRAILER_COLUMNS = ("-", "count", "sum")
# Words banks start a total line with; without --trailer such a line gets a hint, not a guess.
_TOTAL_WORDS = ("итого", "итог", "всего", "total")
_TOTAL_HINT = "a total line? give --trailer with the text it starts with"


@dataclass(frozen=True, slots=True)
class Options:
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    """The file's columns in order; '-' or '_' skips a column the agent sends but we ignore."""
    delimiter: str = "auto"
    """';', ',', 'tab', '|', or 'auto': ';' if the first line has one, else tab, else ','."""
    header: bool = True
    encoding: str = "utf-8"
    date_format: str | None = None
    """strptime format of txn_date; None tries DATE_FORMATS. A date without zone is local."""
    trailer: str | None = None
    """The file ends with a total line whose first field starts with this (case ignored): its
    count and sum must agree with the payment lines, and a file without it is refused as cut
    short. None: no total line expected."""
    trailer_columns: tuple[str, ...] = DEFAULT_TRAILER_COLUMNS
    """The total line's fields in order: 'count', 'sum', '-' for one to ignore."""


@dataclass(frozen=True, slots=True)
class Line:
    line_no: int
    txn_id: str
    account: str
    """As the agent wrote it, less spaces and dashes; validated later (it may be mistyped)."""
    amount_minor: int
    txn_date: dt.datetime | None
    """UTC."""


@dataclass(frozen=True, slots=True)
class Problem:
    line_no: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.reason}"


@dataclass(slots=True)
class Parsed:
    lines: list[Line] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _names(spec: str | Sequence[str], known: Sequence[str], label: str) -> tuple[str, ...]:
    """Comma-separated names, each known or '-' (skip); none given twice."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    columns = tuple(name.strip().lower() for name in names)
    unknown = [c for c in columns if c not in known and c not in SKIP]
    if unknown:
        raise RegistryOptionsInvalid(
            f"unknown {label} {unknown[0]!r}: use {', '.join(known)}, or '-' to skip one"
        )
    named = [c for c in columns if c not in SKIP]
    repeated = sorted({c for c in named if named.count(c) > 1})
    if repeated:
        raise RegistryOptionsInvalid(f"{label} {repeated[0]!r} given twice")
    return columns


def parse_columns(spec: str | Sequence[str]) -> tuple[str, ...]:
    columns = _names(spec, FIELDS, "column")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise RegistryOptionsInvalid(f"columns must include {', '.join(missing)}")
    return columns


def parse_trailer_columns(spec: str | Sequence[str]) -> tuple[str, ...]:
    columns = _names(spec, TRAILER_FIELDS, "trailer column")
    if all(c in SKIP for c in columns):
        raise RegistryOptionsInvalid("the trailer columns must include count or sum")
    return columns


def options_to_dict(options: Options) -> dict[str, Any]:
    return {
        "columns": list(options.columns),
        "delimiter": options.delimiter,
        "header": options.header,
        "encoding": options.encoding,
        "date_format": options.date_format,
        "trailer": options.trailer,
        "trailer_columns": list(options.trailer_columns),
    }


def options_from_dict(saved: Mapping[str, Any]) -> Options:
    """Options stored by :func:`options_to_dict`; a key it lacks keeps its default, so a format
    saved before a new option existed still reads."""
    known = {f.name for f in fields(Options)}
    values = {k: v for k, v in saved.items() if k in known}
    for name in ("columns", "trailer_columns"):
        if name in values:
            values[name] = tuple(values[name])
    return Options(**values)


def check_options(options: Options, *, have_date: bool) -> None:
    parse_columns(options.columns)
    if options.trailer is not None:
        if not options.trailer.strip():
            raise RegistryOptionsInvalid("--trailer needs the text the total line starts with")
        if not any(ch.isalpha() for ch in options.trailer):
            # Digits alone would take every payment whose txn_id starts with them for the total.
            raise RegistryOptionsInvalid(
                f"--trailer {options.trailer!r}: the text a total line starts with (a word)"
            )
        parse_trailer_columns(options.trailer_columns)
    if options.encoding.lower() not in ENCODINGS:
        raise RegistryOptionsInvalid(
            f"encoding {options.encoding!r}: use utf-8 or cp1251", code="registry_encoding_invalid"
        )
    if options.delimiter != "auto" and options.delimiter.lower() not in DELIMITERS:
        raise RegistryOptionsInvalid(
            f"delimiter {options.delimiter!r}: use ';', ',', 'tab', '|' or 'auto'"
        )
    if "txn_date" not in options.columns and not have_date:
        raise RegistryOptionsInvalid(
            "the registry has no txn_date column: give --date to say which day it covers"
        )


def decode(data: bytes, encoding: str) -> str:
    codec = ENCODINGS[encoding.lower()]
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line_no = data.count(b"\n", 0, exc.start) + 1
        hint = " (is it cp1251? try --encoding cp1251)" if codec.startswith("utf-8") else ""
        raise RegistryInvalid(
            f"line {line_no}: not valid {encoding}{hint}",
            code="registry_encoding",
            problems=[Problem(line_no, f"not valid {encoding}")],
        ) from exc


def sniff_delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if ";" in first:
        return ";"
    if "\t" in first:
        return "\t"
    return ","


def parse_date(raw: str, fmt: str | None, tz: ZoneInfo) -> dt.datetime:
    """A naive date is the agent's local time in the operator's time zone (as OSMP txn_date)."""
    text = raw.strip()
    if not text:
        raise ValueError("txn_date is empty")
    formats = (fmt,) if fmt else DATE_FORMATS
    for candidate in formats:
        try:
            # Naive unless the format has %z: then it is the operator's local time, below.
            moment = dt.datetime.strptime(text, candidate)  # noqa: DTZ007
        except ValueError:
            continue
        if not MIN_DATE <= moment.date() <= MAX_DATE:
            # Year 1 or 9999 would overflow on the way to UTC, and no payment is from then.
            raise ValueError(f"txn_date {text!r} is not between {MIN_DATE} and {MAX_DATE}")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        return moment.astimezone(dt.UTC)
    expected = f"format {fmt!r}" if fmt else "a date like 20261117153000 or 17.11.2026 15:30:00"
    raise ValueError(f"txn_date {text!r} is not {expected}")


def parse(data: bytes, options: Options, *, tz: str) -> Parsed:
    """Read every line; collect every problem rather than stop at the first."""
    zone = ZoneInfo(tz)
    columns = parse_columns(options.columns)
    text = decode(data, options.encoding)
    if options.delimiter == "auto":
        delimiter = sniff_delimiter(text)
    else:
        delimiter = DELIMITERS[options.delimiter.lower()]
    index = {name: i for i, name in enumerate(columns) if name not in SKIP}
    parsed = Parsed()
    seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header_pending = options.header
    trailer_word = options.trailer.strip().casefold() if options.trailer else None
    trailer: tuple[int, list[str]] | None = None
    line_no = 0
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.problems.append(Problem(start, f"not readable as CSV: {exc}"))
            break
        line_no = start
        if not any(cell.strip() for cell in row):
            continue
        cells = _trim(row, len(columns))
        if header_pending:
            header_pending = False
            if len(cells) != len(columns):
                parsed.problems.append(
                    Problem(
                        line_no,
                        f"the header has {len(cells)} columns but {len(columns)} are expected "
                        f"({','.join(columns)}): is a column missing? (--columns)",
                    )
                )
            continue
        if trailer_word is not None and row[0].strip().casefold().startswith(trailer_word):
            if trailer is not None:
                parsed.problems.append(
                    Problem(line_no, f"a second total line (after line {trailer[0]})")
                )
            else:
                trailer = (line_no, row)
            continue
        if trailer is not None:
            parsed.problems.append(
                Problem(line_no, f"a payment line after the total line {trailer[0]}")
            )
            continue
        if len(cells) != len(columns):
            reason = f"expected {len(columns)} fields, found {len(cells)}"
            if _looks_like_total(row):
                reason += f"; {_TOTAL_HINT}"
            parsed.problems.append(Problem(line_no, reason))
            continue
        fault = _control_characters(cells, columns)
        if fault:
            # Stripped, such a cell would pass for what the agent did not send.
            parsed.problems.append(Problem(line_no, fault))
            continue
        reasons: list[str] = []
        txn_id = cells[index["txn_id"]].strip()
        if not txn_id:
            reasons.append("txn_id is empty")
        elif len(txn_id) > MAX_TXN_ID:
            reasons.append(f"txn_id is longer than {MAX_TXN_ID} characters")
        elif txn_id in seen:
            reasons.append(f"txn_id {txn_id} repeats line {seen[txn_id]}")
        account = clean_account_number(cells[index["account"]].strip())
        if not account:
            reasons.append("account is empty")
        elif len(account) > MAX_ACCOUNT:
            reasons.append(f"account is longer than {MAX_ACCOUNT} characters")
        amount = 0
        try:
            amount = parse_amount(_ungroup(cells[index["sum"]]), field="sum")
            if amount <= 0:
                reasons.append("sum must be positive")
        except AbonentError as exc:
            reasons.append(exc.detail)
        txn_date = None
        if "txn_date" in index:
            try:
                txn_date = parse_date(cells[index["txn_date"]], options.date_format, zone)
            except ValueError as exc:
                reasons.append(str(exc))
        if reasons:
            if _looks_like_total(row):
                reasons.append(_TOTAL_HINT)
            parsed.problems.append(Problem(line_no, "; ".join(reasons)))
            continue
        seen[txn_id] = line_no
        parsed.lines.append(Line(line_no, txn_id, account, amount, txn_date))
    if header_pending and not parsed.problems:
        parsed.problems.append(Problem(max(line_no, 1), "the file is empty: no header, no lines"))
    elif options.trailer is not None:
        _check_trailer(parsed, trailer, options, last_line=max(line_no, 1))
    return parsed


def _control_characters(cells: list[str], columns: tuple[str, ...]) -> str | None:
    for position, (cell, name) in enumerate(zip(cells, columns, strict=True), start=1):
        fault = text_fault(cell)
        if fault:
            label = name if name not in SKIP else f"column {position}"
            return f"{label} must not contain {fault}"
    return None


def _looks_like_total(row: list[str]) -> bool:
    first = row[0].strip().casefold() if row else ""
    return first.startswith(_TOTAL_WORDS)


def _check_trailer(
    parsed: Parsed, trailer: tuple[int, list[str]] | None, options: Options, *, last_line: int
) -> None:
    """The total line must be there and agree with the lines: a registry cut short in transfer
    would otherwise reconcile as "missing on the agent's side"."""
    if trailer is None:
        parsed.problems.append(
            Problem(
                last_line,
                f"no total line starting with {options.trailer!r}: is the file cut short?",
            )
        )
        return
    line_no, row = trailer
    columns = parse_trailer_columns(options.trailer_columns)
    cells = _trim(row, len(columns))
    if len(cells) != len(columns):
        parsed.problems.append(
            Problem(
                line_no,
                f"the total line has {len(cells)} fields but {len(columns)} are expected "
                f"({','.join(columns)}): --trailer-columns",
            )
        )
        return
    if parsed.problems:
        return  # the totals of a file with bad lines prove nothing either way
    reasons: list[str] = []
    if "count" in columns:
        raw = cells[columns.index("count")].strip()
        if not (raw.isascii() and raw.isdigit()):
            reasons.append(f"count {raw[:32]!r} is not a whole number")
        elif int(raw) != len(parsed.lines):
            reasons.append(f"count {int(raw)} but the file has {len(parsed.lines)} payment lines")
    if "sum" in columns:
        total = sum(line.amount_minor for line in parsed.lines)
        try:
            stated = parse_amount(_ungroup(cells[columns.index("sum")]), field="total sum")
        except AbonentError as exc:
            reasons.append(exc.detail)
        else:
            if stated != total:
                reasons.append(
                    f"total {format_plain(stated)} but the lines add up to {format_plain(total)}"
                )
    if reasons:
        parsed.problems.append(Problem(line_no, "total line: " + "; ".join(reasons)))


def _ungroup(raw: str) -> str:
    """'1 500,00' as spreadsheets export it (space or no-break space between thousands)."""
    return raw.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")


def _trim(row: list[str], expected: int) -> list[str]:
    """Drop empty trailing fields beyond the expected ones (a trailing ';' is common)."""
    cells = list(row)
    while len(cells) > expected and not cells[-1].strip():
        cells.pop()
    return cells


def refuse_if_bad(parsed: Parsed) -> None:
    if not parsed.problems:
        return
    shown = parsed.problems[:MAX_PROBLEMS_IN_DETAIL]
    more = len(parsed.problems) - len(shown)
    detail = "\n".join(
        [f"registry refused, nothing imported: {len(parsed.problems)} bad line(s)"]
        + [f"  {p}" for p in shown]
        + ([f"  … and {more} more"] if more else [])
    )
    raise RegistryInvalid(detail, problems=parsed.problems)
