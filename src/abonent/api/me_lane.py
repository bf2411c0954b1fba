"""A short lane past the framework for ``GET /v1/me/accounts/{number}/statement``.

The subscriber's statement is what the mobile app asks for most, and in one worker FastAPI's
route matching (every route before it is tried: ~40 here) and dependency solving cost more CPU
than the request's own work (measured in process: 1.1 ms of CPU per request through the router).
This lane answers only the plain success: a subscriber's token of the right audience, live,
and the account theirs (``subscriber_reads.own_statement``: one query), with the same JSON
body as the route. Anything else (no token, another audience, a dead token, another customer's
or an unknown account, a web session timed out, any error) goes on to the framework untouched,
whose route (``api/v1/me.py``, still registered and documented) answers it exactly as before:
nothing was written on those paths, so answering them twice costs only the repeated read.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from abonent.api.deps import database_of, subscriber_token_of
from abonent.api.edge import ROUTE_KEY
from abonent.statement.reader import gate as pool_gate
from abonent.subscribers import reader as subscriber_reads
from abonent.subscribers import service as subscribers

_PREFIX = "/v1/me/accounts/"
_SUFFIX = "/statement"
_ROUTE = "/v1/me/accounts/{number}/statement"
_MAX_NUMBER = 64
"""The route's own ``max_length`` on ``{number}``: longer goes to the framework (422)."""


def number_of(scope: Scope) -> str | None:
    """The ``{number}`` of a ``GET /v1/me/accounts/{number}/statement``, else None."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    number = path[len(_PREFIX) : -len(_SUFFIX)]
    if not number or "/" in number or len(number) > _MAX_NUMBER:
        return None
    return number


class MeStatementLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        number = number_of(scope)
        if number is None:
            await self.app(scope, receive, send)
            return
        response = await _answer(Request(scope, receive), number)
        if response is None:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_KEY] = _ROUTE
        await response(scope, receive, send)


async def _answer(request: Request, number: str) -> Response | None:
    """The statement's answer, or None: the framework's route must answer."""
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
