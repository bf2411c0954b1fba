"""Prometheus metrics: one registry per process, rendered by ``GET /metrics`` (api/ops.py).

Per-request cost matters (the OSMP lane is a measured hot path): a request's counter and
histogram children are looked up once per (method, route, status) and cached, so recording one
request is two dictionary look-ups, an increment and an observation. Labels are bounded: the
route template (never the raw path), the method from a fixed set, the status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

__all__ = ["CONTENT_TYPE", "REGISTRY", "OutboxRow", "observe_request", "payment_booked", "render"]

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

_REQUESTS = Counter(
    "abonent_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
_LATENCY = Histogram(
    "abonent_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
_BOOKED = Counter(
    "abonent_payments_booked",
    "Payments booked (committed), by source kind: osmp, card, api, registry, …",
    ["source"],
    registry=REGISTRY,
)
_OUTBOX = Gauge(
    "abonent_outbox_messages",
    "Outbox messages by topic and status (pending, done, dead), at scrape time.",
    ["topic", "status"],
    registry=REGISTRY,
)
_OUTBOX_DEPTH = Gauge(
    "abonent_outbox_depth", "Outbox messages waiting to be relayed.", registry=REGISTRY
)
_OUTBOX_AGE = Gauge(
    "abonent_outbox_oldest_pending_age_seconds",
    "Age of the oldest message waiting in the outbox (0 when none waits).",
    registry=REGISTRY,
)
_SMS = Gauge(
    "abonent_sms_messages",
    "SMS (sms_messages) by status: queued, sent, delivered, undeliverable, expired, failed.",
    ["status"],
    registry=REGISTRY,
)
_POOL = Gauge(
    "abonent_db_pool_connections",
    "Database connection pool: size, checked_in, checked_out, overflow.",
    ["state"],
    registry=REGISTRY,
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    pair = _children.get(key)
    if pair is None:
        shown = method if method in _METHODS else "OTHER"
        pair = (
            _REQUESTS.labels(shown, route, str(status)),
            _LATENCY.labels(shown, route),
        )
        if len(_children) < 10_000:  # routes and statuses are bounded; this is a backstop
            _children[key] = pair
    pair[0].inc()
    pair[1].observe(seconds)


# --- payments booked: counted when their unit of work commits, never for a rolled-back try --

_PENDING_KEY = "abonent.metrics.booked"


def payment_booked(session: AsyncSession | Session, source: str) -> None:
    """Count a payment booked in ``session`` once that unit commits. ``source`` is the
    payment's source ('osmp:SBER', 'card:sandbox', 'api:3'); only its kind is a label."""
    session.info.setdefault(_PENDING_KEY, []).append(source.partition(":")[0] or "other")


def payment_committed(source: str) -> None:
    """Count a payment booked by a statement that committed by itself (autocommit)."""
    _BOOKED.labels(source.partition(":")[0] or "other").inc()


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for kind in session.info.pop(_PENDING_KEY, ()):
        _BOOKED.labels(kind).inc()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


# --- scrape-time figures ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxRow:
    topic: str
    status: str
    count: int
    oldest: dt.datetime | None


def render(
    outbox: Iterable[OutboxRow],
    *,
    sms: Mapping[str, int] | None = None,
    pool: Any,
    now: dt.datetime,
) -> bytes:
    """Set the scrape-time gauges and render everything. No await happens in here, so two
    scrapes cannot interleave their clearing and setting."""
    _OUTBOX.clear()
    _SMS.clear()
    depth = 0
    oldest: dt.datetime | None = None
    for row in outbox:
        _OUTBOX.labels(row.topic, row.status).set(row.count)
        if row.status == "pending":
            depth += row.count
            if row.oldest is not None and (oldest is None or row.oldest < oldest):
                oldest = row.oldest
    for status, count in (sms or {}).items():
        _SMS.labels(status).set(count)
    _OUTBOX_DEPTH.set(depth)
    _OUTBOX_AGE.set(max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
    _POOL.clear()
    for state in ("size", "checkedin", "checkedout", "overflow"):
        reader = getattr(pool, state, None)
        if callable(reader):
            value = reader()
            # QueuePool counts overflow from -size: only connections beyond the pool count.
            _POOL.labels(state.replace("checked", "checked_")).set(
                max(0, value) if state == "overflow" else value
            )
    return generate_latest(REGISTRY)
