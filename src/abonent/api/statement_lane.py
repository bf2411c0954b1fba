"""A short lane past the framework for the two statement routes that come in bulk.

``GET /v1/me/accounts/{number}/statement`` (the mobile app, a subscriber's token) and
``GET /v1/accounts/{number}/statement`` (integrations and staff, an API key) are the reads asked
for most. In one worker FastAPI's route matching (every route before it is tried: ~40 here)
and dependency solving cost more CPU than the request's own work (measured in process: 1.1 ms
of CPU per request through the router). This lane answers only the plain success, with the
same JSON body as the route:

- a subscriber's token of the right audience, live, and the account theirs
  (``subscriber_reads.own_statement``: one query);
- an API key this process authenticated within the key cache's ttl, whose role may
  ``accounts.read``, and an account number of digits (``read_statement``: one query).

Anything else (no credential, another audience, a dead token, a key not in the cache, a role
that may not read, another customer's or an unknown account, a malformed number, a web session
timed out, any error) goes on to the framework untouched, whose routes (``api/v1/me.py`` and
``api/v1/accounts.py``, still registered and documented) answer it exactly as before: nothing
was written on those paths, so answering them twice costs only the repeated read. A key missing
from the cache is therefore loaded and cached by the route, and its next request takes the lane.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from abonent.api.deps import api_key_of, database_of, key_cache, subscriber_token_of
from abonent.api.edge import ROUTE_KEY
from abonent.api.v1.accounts import STATEMENT_PERMISSION
from abonent.apikeys.permissions import allowed
from abonent.statement.reader import gate as pool_gate
from abonent.statement.reader import read_statement
from abonent.subscribers import reader as subscriber_reads
from abonent.subscribers import service as subscribers

ME_PREFIX = "/v1/me/accounts/"
STAFF_PREFIX = "/v1/accounts/"
_SUFFIX = "/statement"
_ME_ROUTE = "/v1/me/accounts/{number}/statement"
_STAFF_ROUTE = "/v1/accounts/{number}/statement"
_MAX_NUMBER = 64
"""The routes' own ``max_length`` on ``{number}``: longer goes to the framework (422)."""


def number_of(scope: Scope, prefix: str = ME_PREFIX) -> str | None:
    """The ``{number}`` of a ``GET {prefix}{number}/statement``, else None."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    if not (path.startswith(prefix) and path.endswith(_SUFFIX)):
        return None
    number = path[len(prefix) : -len(_SUFFIX)]
    if not number or "/" in number or len(number) > _MAX_NUMBER:
        return None
    return number


class StatementLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response | None = None
        if (number := number_of(scope, ME_PREFIX)) is not None:
            response, route = await _own(Request(scope, receive), number), _ME_ROUTE
        elif (number := number_of(scope, STAFF_PREFIX)) is not None:
            response, route = await _staff(Request(scope, receive), number), _STAFF_ROUTE
        if response is None:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_KEY] = route
        await response(scope, receive, send)


async def _own(request: Request, number: str) -> Response | None:
    """The subscriber's statement, or None: the framework's route must answer."""
    db = database_of(request)
    try:
        token = subscriber_token_of(request)
        found = await subscriber_reads.own_statement(db.engine, token, number)
        if found is None:
            return None
        if found.checked.seen is not None:
            # The once-a-minute use, as ``Own`` records it (a write only when due).
            async with pool_gate(db.engine), db.session() as session:
                await subscribers.record_seen(session, found.checked.seen)
    except Exception:
        return None
    return Response(found.statement.model_dump_json(), media_type="application/json")


async def _staff(request: Request, number: str) -> Response | None:
    """The statement for an API key already in the cache, or None: the route must answer."""
    if not number.isascii() or not number.isdigit():
        return None
    plain = api_key_of(request)
    if not plain:
        return None
    info = key_cache.get(plain)
    if info is None or not allowed(info.role, STATEMENT_PERMISSION):
        return None
    try:
        statement = await read_statement(database_of(request).engine, number)
    except Exception:
        return None
    return Response(statement.model_dump_json(), media_type="application/json")
