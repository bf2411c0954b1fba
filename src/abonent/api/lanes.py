"""A short lane past the framework for the one endpoint that carries payment traffic.

Payment agents call ``/agents/osmp/{code}`` at terminal rates, and FastAPI's routing,
dependency solving and exception layers gave that endpoint nothing but CPU: the handler takes
the bare request, owns its unit of work and turns every outcome into its own XML answer.
Measured with one uvicorn worker (``BENCH_OSMP_WORKERS=1 bench/bench_osmp.py``): 579 payments/s
through the router, 679 through this lane. The route stays registered with FastAPI (so the OpenAPI
document describes it and anything outside this lane still reaches it); this lane answers the
same requests with the same handler, before the router is consulted.

Being outside FastAPI's exception handlers, the lane is its own last line of defence: whatever
escapes the handler is logged once (without locals) and answered in the protocol's XML, result
1 (temporary: the agent retries) when the database is out of reach, else 300.
"""

from __future__ import annotations

import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from abonent.api.agents import osmp as osmp_endpoints
from abonent.api.edge import ROUTE_KEY
from abonent.api.limits import BodyTooLarge
from abonent.db.uow import is_transient
from abonent.payments.agents.osmp import Answer, Result, render

log = structlog.get_logger(__name__)
_OSMP_PREFIX = "/agents/osmp/"
_ROUTE = "/agents/osmp/{code}"


class AgentLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        code = path[len(_OSMP_PREFIX) :] if path.startswith(_OSMP_PREFIX) else ""
        if not code or "/" in code:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_KEY] = _ROUTE
        try:
            response: Response = await osmp_endpoints.osmp_call(code, Request(scope, receive))
        except BodyTooLarge:
            raise  # the body limit outside answers it
        except Exception as exc:
            response = _technical_failure(exc)
        await response(scope, receive, send)


def _technical_failure(exc: Exception) -> Response:
    temporary = _database_unavailable(exc)
    log.error("osmp.unhandled", temporary=temporary, exc_info=exc)
    answer = (
        Answer(Result.TEMPORARY, "temporary error; retry")
        if temporary
        else Answer(Result.OTHER, "refused for technical reasons; nothing was booked")
    )
    return Response(render(answer), media_type=osmp_endpoints.MEDIA_TYPE)


def _database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and (exc.connection_invalidated or is_transient(exc))
