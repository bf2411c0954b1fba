"""``/metrics``: Prometheus text for the operator's scraper, not for the public.

Readable from the addresses and networks in ``ABONENT_METRICS__ALLOW`` (loopback by default)
or by anyone presenting ``ABONENT_METRICS__TOKEN`` as a bearer token; anyone else is told there
is nothing here (404), or refused (403) when they present a wrong token.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from fastapi import APIRouter, Request, Response

from abonent.api.deps import Db
from abonent.config import MetricsSettings, Settings
from abonent.kit import clock, metrics
from abonent.kit.errors import Forbidden, NotFound
from abonent.outbox import stats
from abonent.sms import service as sms_service

router = APIRouter(include_in_schema=False)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(allow: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allow)


def may_read(
    config: MetricsSettings, client: str | None, authorization: str | None, *, proxied: bool
) -> bool:
    """True if allowed; raises Forbidden for a wrong token; False otherwise.

    A proxied request's socket peer is the proxy (often loopback), not the client: it may
    read the metrics with the token only."""
    if authorization and authorization[:7].lower() == "bearer ":
        if config.token is not None and hmac.compare_digest(
            authorization[7:].strip().encode(), config.token.get_secret_value().encode()
        ):
            return True
        raise Forbidden("this token may not read the metrics", code="forbidden")
    if client is None or proxied:
        return False
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(config.allow)))


@router.get("/metrics")
async def read_metrics(request: Request, db: Db) -> Response:
    settings: Settings = request.app.state.settings
    client = request.client.host if request.client else None
    headers = request.headers
    proxied = "x-forwarded-for" in headers or "forwarded" in headers
    if not may_read(settings.metrics, client, headers.get("authorization"), proxied=proxied):
        raise NotFound("Not Found", code="not_found")
    async with db.session() as session:
        outbox = await stats.by_topic_and_status(session)
        sms_counts = await sms_service.count_by_status(session)
    body = metrics.render(outbox, sms=sms_counts, pool=db.engine.sync_engine.pool, now=clock.now())
    return Response(body, media_type=metrics.CONTENT_TYPE)
