"""A short lane past the framework for the one endpoint that carries payment traffic.

Payment agents call ``/agents/osmp/{code}`` at terminal rates, and FastAPI's routing,
dependency solving and exception layers gave that endpoint nothing but CPU: the handler takes
the bare request, owns its unit of work and turns every outcome into its own XML answer.
Measured with one uvicorn worker (``BENCH_OSMP_WORKERS=1 bench/bench_osmp.py``): 579 payments/s
through the router, 679 through this lane. The route stays registered with FastAPI (so the OpenAPI
document describes it and anything outside this lane still reaches it); this lane answers the
same requests with the same handler, before the router is consulted.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from abonent.api.agents import osmp as osmp_endpoints

_OSMP_PREFIX = "/agents/osmp/"


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
        response: Response = await osmp_endpoints.osmp_call(code, Request(scope, receive))
        await response(scope, receive, send)
