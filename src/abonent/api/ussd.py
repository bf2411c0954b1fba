"""``POST /ussd/callback``: USSD over HTTP, the aggregator callback convention (DESIGN §4).

Form fields ``sessionId``, ``serviceCode``, ``phoneNumber``, ``networkCode``, ``text`` (empty
first, then every input so far joined by ``*``); the answer is 200 ``text/plain`` beginning
``CON `` (the screen waits for input) or ``END `` (the session closes). Whatever arrives, the
subscriber gets a defined closing screen, never a 500. Only the aggregator may call: a source
address in ``ussd.allowed_networks`` and/or the shared secret in ``ussd.secret_header``.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from functools import lru_cache
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from abonent.config import Settings
from abonent.db.uow import Database
from abonent.ussd import engine
from abonent.ussd.service import (
    MAX_CODE,
    MAX_SESSION_ID,
    MAX_TEXT,
    UssdRequest,
    answer,
)

router = APIRouter(tags=["USSD"])

MEDIA_TYPE = "text/plain; charset=utf-8"
MAX_BODY = 2048
# The longest each field may be; a longer one is refused, not cut.
LIMITS = {
    "sessionId": MAX_SESSION_ID,
    "serviceCode": MAX_CODE,
    "phoneNumber": 32,
    "networkCode": 16,
    "text": MAX_TEXT,
}
REFUSED = "Запрос отклонён."
PATH = "/ussd/callback"
_CONTROL = re.compile("[\x00-\x1f]")


@lru_cache(maxsize=8)
def _networks(
    spec: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in spec)


def allowed(settings: Settings, address: str | None, secret: str | None) -> bool:
    cfg = settings.ussd
    if cfg.shared_secret is not None and secret is not None:
        expected = cfg.shared_secret.get_secret_value().encode()
        if hmac.compare_digest(expected, secret.encode()):
            return True
    if address is None:
        return False
    return _from_allowed(address, tuple(cfg.allowed_networks))


# The aggregator calls from a handful of addresses, thousands of times a second.
@lru_cache(maxsize=1024)
def _from_allowed(address: str, spec: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(spec))


@router.post(
    PATH,
    response_class=Response,
    summary="USSD over HTTP: one step of a dialogue (*100#, *100*3#)",
    responses={
        200: {"content": {"text/plain": {}}, "description": "CON … or END …"},
        403: {"content": {"text/plain": {}}, "description": "not the aggregator"},
    },
)
async def ussd_callback(request: Request) -> Response:
    client = request.client
    status, text = await handle(
        request.app.state.settings,
        request.app.state.db,
        client.host if client else None,
        request.headers.get(request.app.state.settings.ussd.secret_header),
        await request.body(),
    )
    return Response(content=text, status_code=status, media_type=MEDIA_TYPE)


async def handle(
    settings: Settings, db: Database, address: str | None, secret: str | None, body: bytes
) -> tuple[int, str]:
    """One callback: (HTTP status, the text/plain answer). Shared by the route and the lane."""
    if not allowed(settings, address, secret):
        return 403, "END Доступ запрещён."
    if len(body) > MAX_BODY:
        return 200, "END " + REFUSED
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return 200, "END " + REFUSED
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in LIMITS:
            if name in fields or len(value) > LIMITS[name]:
                return 200, "END " + REFUSED
            fields[name] = value
    session_id = fields.get("sessionId", "").strip()
    code = fields.get("serviceCode", "").strip()
    phone = fields.get("phoneNumber", "").strip()
    if not session_id or not code or not phone:
        return 200, "END " + REFUSED
    if any(_CONTROL.search(value) for value in fields.values()):
        return 200, "END " + REFUSED
    reply = await answer(
        db,
        settings,
        UssdRequest(
            session_id=session_id, msisdn=phone, service_code=code, text=fields.get("text", "")
        ),
    )
    return 200, ("END " if reply.end else "CON ") + (reply.text or engine.UNAVAILABLE)


class UssdLane:
    """The callback answered before FastAPI's router, as ``api.lanes.AgentLane`` does for OSMP:
    at USSD rates the framework's routing, dependency and exception layers cost CPU and give
    this endpoint nothing. The route stays registered (OpenAPI documents it) and answers the
    same way through :func:`handle`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings: Settings = state.settings
        wanted = settings.ussd.secret_header.lower().encode("latin-1")
        secret = next(
            (v.decode("latin-1") for k, v in scope.get("headers") or () if k == wanted), None
        )
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                break
        client = scope.get("client")
        status, text = await handle(settings, state.db, client[0] if client else None, secret, body)
        payload = text.encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
