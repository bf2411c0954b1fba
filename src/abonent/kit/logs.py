"""Structured, redacted logs for every process: the server, the worker and the CLI.

structlog and the standard library (uvicorn, SQLAlchemy) end in one handler with one chain of
processors: tracebacks are rendered as plain text or dicts WITHOUT local variables (locals held
API keys, agents' passwords and passports), then :func:`redact` removes secrets by key and by
value, then the line is rendered as JSON (production) or as a readable console line.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.processors import ExceptionRenderer
from structlog.tracebacks import ExceptionDictTransformer
from structlog.types import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"

# Key names whose values are secrets whatever they hold (compared lower-case, '-' as '_').
_SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "passport",
    "otp",
    "totp",
    "pii_key",
    "hash_key",
    "private_key",
    "credential",
)
# A key named just "code" is usually an error code ("auth_failed"); a one-time code is digits.
_ONE_TIME_CODE = re.compile(r"\d{4,8}")
_CODE_KEYS = frozenset({"code", "sms_code", "one_time_code", "confirmation_code", "pin"})

# Values: API keys (apikeys.service.PREFIX + token_urlsafe), Basic/Bearer credentials, and a
# passport's series and number written near the word.
_VALUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"abk_[A-Za-z0-9_\-]{4,}"), f"abk_{REDACTED}"),
    (re.compile(r"(?i)\b(basic|bearer|digest)(\s+)[A-Za-z0-9+/=._~\-]{4,}"), rf"\1\2{REDACTED}"),
    (
        re.compile(
            r"(?i)((?:passport|паспорт)[^0-9\n]{0,40}?)\d{2}[\s\-]?\d{2}[\s\-№]{0,3}\d{6}(?!\d)"
        ),
        rf"\1{REDACTED}",
    ),
)
# One cheap test that lets most strings through without running every pattern.
_MAYBE_SECRET = re.compile(r"(?i)abk_|basic|bearer|digest|passport|паспорт")


def secret_key(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def redact_text(text: str) -> str:
    if not _MAYBE_SECRET.search(text):
        return text
    for pattern, replacement in _VALUE_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(key: str | None, value: Any) -> Any:
    if key is not None:
        if secret_key(key):
            return REDACTED if value not in (None, "") else value
        if key.lower() in _CODE_KEYS and _ONE_TIME_CODE.fullmatch(str(value)):
            return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        # A header pair: (b"authorization", b"Basic ...").
        if len(items) == 2 and isinstance(items[0], str | bytes):
            name = items[0].decode("latin-1") if isinstance(items[0], bytes) else items[0]
            if secret_key(name):
                return [items[0], REDACTED]
        return [_redact_value(None, item) for item in items]
    if isinstance(value, BaseException):
        return redact_text(repr(value))
    return value


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Processor: secrets out of every key and value, nested ones and tracebacks included."""
    return {
        key: (value if key.startswith("_") else _redact_value(key, value))
        for key, value in event_dict.items()
    }


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def production() -> bool:
    return os.environ.get("ABONENT_ENV", "development") == "production"


def formatter(*, json: bool) -> structlog.stdlib.ProcessorFormatter:
    """The one formatter every handler uses (the test suite's capture too)."""
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        final += [
            ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            redact,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    else:
        final += [
            structlog.processors.format_exc_info,
            redact,
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            ),
        ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED, processors=final, logger=None
    )


_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure(json: bool | None = None, level: int | str | None = None) -> None:
    """Route structlog and stdlib logging through the redacting chain. Safe to call again:
    only this module's handler is replaced; other handlers (a test capture) stay."""
    if json is None:
        json = os.environ.get("ABONENT_LOG__JSON", "").lower() in ("1", "true") or production()
    if level is None:
        level = os.environ.get("ABONENT_LOG__LEVEL", "INFO").upper()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrHandler):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(formatter(json=json))
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn installs handlers of its own unless told not to (cli/serve.py passes
    # log_config=None); its loggers then propagate to the root like every other.
    # ("uvicorn.access" is left alone: uvicorn logs access only when it has somewhere to go.)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
