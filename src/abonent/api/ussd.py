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
from functools import lru_cache
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from abonent.channels.ussd import engine
from abonent.channels.ussd.service import (
    MAX_CODE,
    MAX_SESSION_ID,
    MAX_TEXT,
    UssdRequest,
    answer,
)
from abonent.config import Settings
from abonent.db.uow import Database

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


def _plain(text: str, *, end: bool, status: int = 200) -> Response:
    prefix = "END " if end else "CON "
    return Response(content=prefix + text, status_code=status, media_type=MEDIA_TYPE)


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
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(cfg.allowed_networks)))


@router.post(
    "/ussd/callback",
    response_class=Response,
    summary="USSD over HTTP: one step of a dialogue (*100#, *100*3#)",
    responses={
        200: {"content": {"text/plain": {}}, "description": "CON … or END …"},
        403: {"content": {"text/plain": {}}, "description": "not the aggregator"},
    },
)
async def ussd_callback(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    client = request.client
    if not allowed(
        settings, client.host if client else None, request.headers.get(settings.ussd.secret_header)
    ):
        return _plain("Доступ запрещён.", end=True, status=403)
    body = await request.body()
    if len(body) > MAX_BODY:
        return _plain(REFUSED, end=True)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return _plain(REFUSED, end=True)
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in LIMITS:
            if name in fields or len(value) > LIMITS[name]:
                return _plain(REFUSED, end=True)
            fields[name] = value
    session_id = fields.get("sessionId", "").strip()
    code = fields.get("serviceCode", "").strip()
    phone = fields.get("phoneNumber", "").strip()
    if not session_id or not code or not phone:
        return _plain(REFUSED, end=True)
    if any(ord(ch) < 32 for value in fields.values() for ch in value):
        return _plain(REFUSED, end=True)
    reply = await answer(
        db,
        settings,
        UssdRequest(
            session_id=session_id, msisdn=phone, service_code=code, text=fields.get("text", "")
        ),
    )
    return _plain(reply.text or engine.UNAVAILABLE, end=reply.end)
