"""What the OpenAPI document says about errors: every refusal is an RFC 9457 problem.

FastAPI documents only the success and its own 422 shape (which the API never sends); a client,
or a fuzzer checking the API against its schema, must see what really comes back. Routers
declare ``responses=PROBLEMS``; a route with a reason of its own uses ``problem(description)``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """An error: a stable machine ``code`` next to a human ``detail``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:abonent:error:account_not_found"])
    title: str
    status: int
    detail: str
    code: str = Field(description="stable, for programs: branch on this, not on the text")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="validation errors: where (loc), what (msg, type)"
    )


_SCHEMA = Problem.model_json_schema()


def problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": _SCHEMA}}}


PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: problem("malformed request: not JSON, a missing or malformed header"),
    401: problem("no API key, or one that is unknown or revoked"),
    403: problem("the key's role may not do this"),
    404: problem("no such object"),
    409: problem("conflicts with the current state, or a request still running"),
    413: problem("the body is over the size limit"),
    422: problem("invalid input, or refused by a business rule"),
    503: problem("temporarily unavailable; retry"),
}
"""The refusals any JSON endpoint may answer with."""

RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    429: problem("too many requests from this address or number; `Retry-After` says when"),
}
"""The refusals of a rate-limited endpoint (logins, public look-ups and checks)."""
