"""What every surface accepts as text, integers, amounts and dates: one place each.

The database refuses what these refuse, only later and as a 500: PostgreSQL cannot store NUL in
text, a BIGINT holds 64 bits, and a year-1 timestamp overflows as soon as a zone is applied. So
every surface (API schemas and parameters, OSMP, file imports, the CLI) checks its input here,
before anything is written. Nothing is stripped or replaced: a value is taken as sent or refused.

Two forms of each rule: plain functions raising ``ValueError`` (for parsers and the CLI), and
pydantic ``Annotated`` types built on them (for schemas and query parameters).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictInt,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

# --- bounds --------------------------------------------------------------------------------------

INT64_MAX = 2**63 - 1
"""What a BIGINT column (every id, every amount) holds."""
INT32_MAX = 2**31 - 1
MAX_AMOUNT_MINOR = 10**15
"""10^15 kopecks (ten trillion roubles): far above any real amount, far inside a BIGINT, and
still exact in a JavaScript number (which loses integers above 2^53)."""

MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
"""The dates an event may carry (a charge, a payment, a filter over them). Outside this, a date
is a typo or a probe, and near year 1 or 9999 converting it between zones overflows."""
MIN_HISTORIC_DATE = dt.date(1900, 1, 1)
"""The earliest date of what happened before the system: a birth, an old contract."""

# --- text ---------------------------------------------------------------------------------------

# A JSON Schema pattern describing the same rule for clients and fuzzers (C0, DEL and C1 are
# Unicode category Cc). Validation itself is the Python check below, which also refuses lone
# surrogates (a JSON string may carry them as escapes; no database stores them).
TEXT_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
MULTILINE_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
NONBLANK_PATTERN = (
    "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f]"
    "[^\\u0000-\\u001f\\u007f-\\u009f]*$"
)


# Unicode category Cc is exactly C0, DEL and C1; a regex finds one far faster than a loop over
# unicodedata, and OSMP runs this on every parameter of every payment.
_FAULTY = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FAULTY_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_fault(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is not acceptable text, or None. Never echoes the value itself."""
    found = (_FAULTY_MULTILINE if multiline else _FAULTY).search(value)
    if found is None:
        return None
    char, position = found.group(), found.start() + 1
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate at character {position}"
    return f"a control character U+{ord(char):04X} at character {position}"


def check_text(
    value: str,
    *,
    max_length: int | None = None,
    min_length: int = 0,
    multiline: bool = False,
    blank: bool = True,
) -> str:
    """``value`` unchanged, or ``ValueError`` saying what is wrong with it."""
    fault = text_fault(value, multiline=multiline)
    if fault:
        raise ValueError(f"must not contain {fault}")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"at most {max_length} characters (got {len(value)})")
    if len(value) < min_length:
        raise ValueError(f"at least {min_length} characters")
    if not blank and not value.strip():
        raise ValueError("must not be blank")
    return value


@dataclass(frozen=True, slots=True)
class Text:
    """Metadata for ``Annotated[str, Text(255)]``: at most ``max_length`` characters, no control
    characters (newlines and tabs only if ``multiline``); ``blank=False`` also refuses
    whitespace only. Lengths are pydantic's own constraints (and in the JSON schema); the
    character rule is ``check_text``, described in the schema by a ``pattern``."""

    max_length: int
    min_length: int = 0
    multiline: bool = False
    blank: bool = True

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        inner = handler(source)
        if inner.get("type") == "str":
            inner = {**inner, "max_length": self.max_length, "min_length": self.min_length}
        return core_schema.no_info_after_validator_function(self._check, inner)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        # A stricter pattern of the field's own (an e-mail's) stays: it already says more.
        out.setdefault(
            "pattern",
            MULTILINE_PATTERN
            if self.multiline
            else TEXT_PATTERN
            if self.blank
            else NONBLANK_PATTERN,
        )
        return out

    def _check(self, value: str) -> str:
        return check_text(
            value,
            max_length=self.max_length,
            min_length=self.min_length,
            multiline=self.multiline,
            blank=self.blank,
        )


Name = Annotated[str, Text(255, min_length=1)]
"""A person's or a company's name, a service label (``String(255)`` columns)."""
Reason = Annotated[str, Text(255, min_length=1, blank=False)]
"""Why a staff member does something; stored in the audit trail. Blank is refused."""
Comment = Annotated[str, Text(255)]
"""A free comment (a payment's)."""
MultilineText = Annotated[str, Text(4000, multiline=True)]
"""Free text where a line break means something (a note); tabs and newlines allowed."""

# --- integers -----------------------------------------------------------------------------------


def check_int_range(value: int, *, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high}")
    return value


Int64Id = Annotated[StrictInt, Field(ge=1, le=INT64_MAX)]
"""A row id: what a BIGINT primary key holds; a float, a string or a boolean is refused."""
Int32 = Annotated[StrictInt, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
Minor = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT_MINOR)]
"""A non-negative amount of kopecks (a limit, a balance); a float or a numeric string is refused."""
PositiveMinor = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT_MINOR)]
"""An amount of kopecks that moves money: > 0."""

# --- dates and timestamps -----------------------------------------------------------------------


def check_date(value: dt.date, *, low: dt.date = MIN_DATE, high: dt.date = MAX_DATE) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not low <= day <= high:
        raise ValueError(f"must be between {low.isoformat()} and {high.isoformat()}")
    return value


def _historic(value: dt.date) -> dt.date:
    return check_date(value, low=MIN_HISTORIC_DATE)


def check_datetime(value: dt.datetime) -> dt.datetime:
    # The bound applies to the instant in UTC too: 2000-01-01T00:00+05:00 is still 1999 there.
    check_date(value)
    if value.tzinfo is not None:
        check_date(value.astimezone(dt.UTC))
    return value


def _iso_text(value: Any) -> Any:
    # Pydantic would read a bare number as a Unix timestamp; a date on the wire is ISO text.
    if isinstance(value, int | float):
        raise ValueError("an ISO 8601 string, e.g. 2026-11-18")
    return value


Date = Annotated[dt.date, BeforeValidator(_iso_text), AfterValidator(check_date)]
"""An ISO date between ``MIN_DATE`` and ``MAX_DATE``."""
HistoricDate = Annotated[dt.date, BeforeValidator(_iso_text), AfterValidator(_historic)]
"""An ISO date between ``MIN_HISTORIC_DATE`` and ``MAX_DATE`` (a birth date, a contract)."""
Timestamp = Annotated[dt.datetime, BeforeValidator(_iso_text), AfterValidator(check_datetime)]
"""An ISO timestamp whose date lies between ``MIN_DATE`` and ``MAX_DATE``."""
