"""The outermost layer of the app: request id, request metrics, and the last line of defence.

It wraps everything, Starlette's own error middleware included, so that:
- every line logged while a request runs carries its ``request_id`` (structlog contextvars),
  and every answer, the agent lane's and errors included, returns it as ``X-Request-ID``;
- every request is counted by route template and status, and timed;
- whatever escapes is logged once, without locals, and (if nothing was answered yet) answered
  as its surface's own 500. Nothing is re-raised to the server, which would log it again.
"""

from __future__ import annotations

import os
import re
from time import perf_counter

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from abonent.api import problems
from abonent.kit import metrics

log = structlog.get_logger("abonent.api")

HEADER = b"x-request-id"
# The shared safe-text rule for an id a client chose: short, printable ASCII, no spaces.
_SANE_ID = re.compile(rb"[!-~]{1,64}")
# Set by a lane that answers before the router: the route template to count the request under.
ROUTE_KEY = "abonent.route"


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == HEADER:
            if _SANE_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return os.urandom(8).hex()


def route_of(scope: Scope) -> str:
    template = scope.get(ROUTE_KEY)
    if template is None:
        # FastAPI keeps an included router's route with its own (unprefixed) path; the
        # effective context it routed by has the full template. (tests/ops pin this.)
        fastapi_scope = scope.get("fastapi")
        context = (
            fastapi_scope.get("effective_route_context")
            if isinstance(fastapi_scope, dict)
            else None
        )
        template = getattr(context, "path_format", None) or getattr(
            scope.get("route"), "path_format", None
        )
    return template if isinstance(template, str) else "unmatched"


class Edge:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        request_id = request_id_of(scope)
        id_header = (HEADER, request_id.encode("ascii"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("request.unhandled", method=scope.get("method"), path=scope.get("path"))
            if status == 0:
                response = problems.internal_error(scope, request_id)
                await response(scope, receive, send_with_id)
            # An answer already begun cannot be replaced; the client sees a cut response.
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            metrics.observe_request(
                scope["method"], route_of(scope), status or 500, perf_counter() - started
            )
