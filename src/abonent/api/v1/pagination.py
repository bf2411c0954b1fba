"""Opaque keyset cursors and the bounded page size shared by every list endpoint.

A cursor carries the last id a page showed and the *scope* it was issued for (endpoint, account,
filters): a cursor from another listing, or from the same listing with other filters, is
refused rather than silently paging through something else.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated

from fastapi import Query

from abonent.kit.errors import InvalidInput
from abonent.kit.inputs import Text

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"page size, 1–{MAX_LIMIT} (default 50)")
]
Cursor = Annotated[
    Annotated[str, Text(512)] | None,
    Query(description="next_cursor of the previous page; omit for the first"),
]


def encode(scope: str, last_id: int) -> str:
    raw = json.dumps({"s": scope, "k": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, scope: str) -> int | None:
    """The id to continue after, or None for the first page."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        key = data["k"]
        issued_for = data["s"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise InvalidInput("the cursor is not one this API issued", code="cursor_invalid") from None
    if issued_for != scope or not isinstance(key, int) or isinstance(key, bool) or key < 0:
        raise InvalidInput(
            "the cursor belongs to another listing or other filters", code="cursor_invalid"
        )
    return key


def next_cursor(scope: str, ids: list[int], limit: int) -> str | None:
    """Given the ids of up to ``limit + 1`` rows fetched, the cursor for what follows."""
    return encode(scope, ids[limit - 1]) if len(ids) > limit else None
