"""Refusals of the contact gate's commands, each with a stable code."""

from __future__ import annotations

import datetime as dt
from typing import Any

from abonent.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable


class BlockInvalid(InvalidInput):
    default_code = "contact_block_invalid"


class BlockNotFound(NotFound):
    default_code = "contact_block_not_found"


class BlockLifted(Conflict):
    default_code = "contact_block_lifted"


class CustomerNotFound(NotFound):
    default_code = "customer_not_found"


class ContactRoleRefused(Forbidden):
    default_code = "contact_role_refused"


class NoPhone(InvalidInput):
    default_code = "contact_no_phone"


class RenderHeld(Unavailable):
    """A renderer cannot say what the message must say now (its template was refused): the gate
    sends nothing, records ``reason`` as its decision and tries again after ``retry_after``."""

    default_code = "contact_render_held"

    def __init__(
        self,
        detail: str,
        *,
        reason: str,
        retry_after: dt.timedelta = dt.timedelta(hours=1),
        code: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail, code=code, **extra)
        self.reason = reason[:64]
        self.retry_after = retry_after
