"""Refusals of the subscriber's login, with stable codes."""

from __future__ import annotations

from abonent.kit.errors import AbonentError, Forbidden, NotFound, Unauthorized
from abonent.throttle.errors import RateLimited


class CodeInvalid(Unauthorized):
    default_code = "auth.code_invalid"


class CodeExpired(Unauthorized):
    default_code = "auth.code_expired"


class TooManyAttempts(AbonentError):
    status = 429
    default_code = "auth.too_many_attempts"
    title = "Too many attempts"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            "слишком много неверных кодов, повторите позже", retry_after=retry_after_seconds
        )
        self.retry_after_seconds = retry_after_seconds


class NotAuthenticated(Unauthorized):
    default_code = "auth.not_authenticated"


class WrongAudience(Forbidden):
    default_code = "auth.wrong_audience"


class SessionNotFound(NotFound):
    default_code = "auth.session_not_found"


CODES = (
    "auth.code_invalid",
    "auth.code_expired",
    "auth.too_many_attempts",
    "auth.rate_limited",
    "auth.not_authenticated",
    "auth.wrong_audience",
)

__all__ = [
    "CODES",
    "CodeExpired",
    "CodeInvalid",
    "NotAuthenticated",
    "RateLimited",
    "SessionNotFound",
    "TooManyAttempts",
    "WrongAudience",
]
