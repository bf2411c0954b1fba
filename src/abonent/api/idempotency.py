"""The Idempotency-Key header on the wire (DESIGN.md §4), for every POST that moves money.

The keys themselves are stored by :mod:`abonent.payments.idempotency` (claim, store, release,
purge); this module is the HTTP half: the header, the replay marker, and running an endpoint's
work at most once per (API key, Idempotency-Key).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from abonent.api import problems
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit.errors import AbonentError
from abonent.payments import idempotency as idem

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="a unique value per operation (e.g. a UUID), reused on every retry",
    ),
]
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    stored: bool = False
    """True when the work already stored it with its own commit."""


def json_reply(status: int, content: Any, *, stored: bool = False) -> Reply:
    return Reply(status, bytes(JSONResponse(jsonable_encoder(content)).body), stored)


def problem_reply(exc: AbonentError) -> Reply:
    extra = jsonable_encoder(exc.extra)
    response = problems.problem(exc.status, exc.code, exc.title, exc.detail, **extra)
    return Reply(exc.status, bytes(response.body))


def _response(status: int, body: bytes, *, replayed: bool | None = None) -> Response:
    media = problems.MEDIA_TYPE if status >= 400 else "application/json"
    response = Response(content=body, status_code=status, media_type=media)
    if replayed is not None:
        response.headers[REPLAYED_HEADER] = "true" if replayed else "false"
    return response


async def run_idempotent(
    request: Request,
    db: Database,
    raw_key: str | None,
    payload: Mapping[str, Any],
    work: Callable[[idem.Claim | None], Awaitable[Reply]],
    *,
    required: bool = True,
) -> Response:
    """Run ``work`` at most once per (API key, Idempotency-Key) and answer as DESIGN §4 says.

    ``work`` gets the claim so that it can store its reply in its own unit of work; a domain
    refusal is stored too (a retry gets the same answer), anything unexpected releases the key.
    """
    if raw_key is None and not required:
        return _response(*_unpack(await work(None)))
    key = idem.validate_key(raw_key)
    # Staff routes key by employee (api/staff_deps.py sets it); API keys by key.
    scope = (
        getattr(request.state, "idempotency_scope", None) or f"apikey:{request.state.api_key_id}"
    )
    found = await idem.claim(
        db,
        scope=scope,
        key=key,
        fingerprint=idem.fingerprint(request.method, request.url.path, payload),
        ttl=idem.ttl(get_settings().idempotency_ttl_hours),
    )
    if isinstance(found, idem.Stored):
        return _response(found.status, found.body, replayed=True)
    try:
        reply = await work(found)
    except AbonentError as exc:
        if exc.status >= 500:
            # Temporary: a retry with the same key should try again, not get this back.
            await idem.release(db, found)
            raise
        reply = problem_reply(exc)
        await idem.complete(db, found, reply.status, reply.body)
        return _response(reply.status, reply.body, replayed=False)
    except BaseException:
        await idem.release(db, found)
        raise
    if not reply.stored:
        await idem.complete(db, found, reply.status, reply.body)
    return _response(reply.status, reply.body, replayed=False)


def _unpack(reply: Reply) -> tuple[int, bytes]:
    return reply.status, reply.body
