"""One error base carrying a stable machine code and an HTTP status.

Each surface (JSON problem details, HTML, USSD text, OSMP result code, CLI exit code) has one
handler that maps these; services raise them and never know which surface they serve.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AbonentError(Exception):
    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "error"
    title: ClassVar[str] = "Request refused"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.extra = extra


class InvalidInput(AbonentError):
    status = 422
    default_code = "invalid_input"
    title = "Invalid input"


class BadRequest(AbonentError):
    status = 400
    default_code = "bad_request"
    title = "Bad request"


class NotFound(AbonentError):
    status = 404
    default_code = "not_found"
    title = "Not found"


class Conflict(AbonentError):
    status = 409
    default_code = "conflict"
    title = "Conflict"


class Unauthorized(AbonentError):
    status = 401
    default_code = "unauthorized"
    title = "Authentication required"


class Forbidden(AbonentError):
    status = 403
    default_code = "forbidden"
    title = "Not allowed"


class PayloadTooLarge(AbonentError):
    status = 413
    default_code = "payload_too_large"
    title = "Payload too large"


class Unavailable(AbonentError):
    """A temporary condition: the caller may retry (OSMP result 1 / HTTP 503)."""

    status = 503
    default_code = "temporarily_unavailable"
    title = "Temporarily unavailable"


class BusinessRuleViolation(AbonentError):
    status = 422
    default_code = "rule_violation"
    title = "Refused by a business rule"
