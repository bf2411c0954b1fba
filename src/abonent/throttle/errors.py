from __future__ import annotations

from typing import ClassVar

from abonent.kit.errors import AbonentError


class RateLimited(AbonentError):
    """Too many requests; ``retry_after_seconds`` goes into the ``Retry-After`` header."""

    status: ClassVar[int] = 429
    default_code: ClassVar[str] = "auth.rate_limited"
    title: ClassVar[str] = "Too many requests"

    def __init__(
        self, retry_after_seconds: int, detail: str = "слишком много запросов, повторите позже"
    ) -> None:
        super().__init__(detail, retry_after=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds
