"""The Idempotency-Key store (DESIGN §4): a POST that moves money runs at most once per key.

A key is claimed in its own short committed transaction (a ``running`` row with the request's
fingerprint), so a concurrent duplicate on another connection sees the claim at once. The work
then runs in its own unit of work and stores its response in the same transaction where it can
(:func:`store`), else in another short one (:func:`complete`). A domain refusal is stored like a
success, so a retry gets the same answer; an unexpected crash releases the key (:func:`release`)
so that a retry runs the work again. Keys are scoped per API key and kept at least 24 hours.

Nothing here knows HTTP: the surface turns requests into fingerprints and replies into bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.uow import Database, is_unique_violation
from abonent.kit import clock
from abonent.kit.errors import BadRequest, Conflict, InvalidInput
from abonent.models import IdempotencyKey
from abonent.payments import repository

log = structlog.get_logger(__name__)

MIN_TTL_HOURS = 24
"""DESIGN §4: keys live at least this long, whatever the configuration says."""
STALE_RUNNING = dt.timedelta(minutes=10)
"""A claim still 'running' after this long belongs to a process that died between claiming and
storing; a retry may take it over (the payment itself is idempotent on its transaction id, so
running the work again cannot book twice)."""
MAX_KEY_LENGTH = 128
"""The key may become the payment's source_txn_id (128 characters)."""
_KEY = re.compile(r"^[\x21-\x7e]+$")


class IdempotencyKeyMissing(BadRequest):
    default_code = "idempotency_key_missing"


class IdempotencyKeyInvalid(BadRequest):
    default_code = "idempotency_key_invalid"


class IdempotencyKeyReused(InvalidInput):
    """The same key came back with another request: a client bug, never a retry."""

    default_code = "idempotency_key_reused"


class IdempotencyKeyInProgress(Conflict):
    """The first request with this key has not finished yet: retry later."""

    default_code = "idempotency_key_in_progress"


@dataclass(frozen=True, slots=True)
class Claim:
    """This request owns the key until it stores a response or releases it."""

    id: int
    scope: str
    key: str


@dataclass(frozen=True, slots=True)
class Stored:
    """A completed request's response, to be returned unchanged."""

    status: int
    body: bytes


def ttl(hours: int) -> dt.timedelta:
    return dt.timedelta(hours=max(MIN_TTL_HOURS, hours))


def validate_key(raw: str | None) -> str:
    if raw is None or not raw.strip():
        raise IdempotencyKeyMissing(
            "this request moves money: send an Idempotency-Key header (a unique value per "
            "operation, e.g. a UUID) and reuse it when retrying"
        )
    if len(raw) > MAX_KEY_LENGTH or not _KEY.match(raw):
        raise IdempotencyKeyInvalid(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters without spaces"
        )
    return raw


def fingerprint(method: str, path: str, payload: Mapping[str, Any]) -> str:
    """sha256 of method, path and the body in canonical form (key order, spacing ignored)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


async def claim(
    db: Database, *, scope: str, key: str, fingerprint: str, ttl: dt.timedelta
) -> Claim | Stored:
    """Claim ``key`` for this request, or say what the earlier request with it came to.

    Raises :class:`IdempotencyKeyReused` (another payload) or :class:`IdempotencyKeyInProgress`
    (the first request is still running).
    """
    for _attempt in range(5):
        now = clock.now()
        try:
            async with db.session(write=True) as session:
                # An expired key is forgotten: the same value starts afresh.
                await repository.forget_expired_key(session, scope, key, now)
                row = IdempotencyKey(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    status="running",
                    created_at=now,
                    expires_at=now + ttl,
                )
                session.add(row)
                await session.flush()
                claimed = Claim(row.id, scope, key)
            return claimed
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
        async with db.session() as session:
            existing = await repository.idempotency_key(session, scope, key)
        if existing is None:
            continue  # released (or purged) between our insert and this read: claim again
        if existing.fingerprint != fingerprint:
            log.warning("idempotency.key_reused", scope=scope, key=key)
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request; "
                "use a new key for a new operation"
            )
        if existing.status == "done" and existing.response_status is not None:
            return Stored(existing.response_status, (existing.response_body or "").encode())
        if existing.created_at <= now - STALE_RUNNING and await _take_over(db, existing.id, now):
            log.warning("idempotency.stale_claim_taken_over", scope=scope, key=key)
            return Claim(existing.id, scope, key)
        raise IdempotencyKeyInProgress(
            "a request with this Idempotency-Key is still being processed; retry shortly"
        )
    raise IdempotencyKeyInProgress(
        "a request with this Idempotency-Key is still being processed; retry shortly"
    )


async def _take_over(db: Database, row_id: int, now: dt.datetime) -> bool:
    async with db.session(write=True) as session:
        return await repository.restart_stale_claim(session, row_id, now, now - STALE_RUNNING)


async def store(session: AsyncSession, claimed: Claim, status: int, body: bytes) -> None:
    """Store the response inside the work's own unit of work: both commit, or neither."""
    await repository.store_response(session, claimed.id, status, body.decode())


async def complete(db: Database, claimed: Claim, status: int, body: bytes) -> None:
    """Store the response in a short transaction of its own (after a refusal, say)."""
    async with db.session(write=True) as session:
        await store(session, claimed, status, body)


async def release(db: Database, claimed: Claim) -> None:
    """Forget the claim after an unexpected failure: a retry runs the work again."""
    try:
        async with db.session(write=True) as session:
            await repository.delete_running_claim(session, claimed.id)
    except Exception:
        # The claim then goes stale and a retry takes it over (STALE_RUNNING).
        log.exception("idempotency.release_failed", scope=claimed.scope, key=claimed.key)


async def purge_expired(session: AsyncSession, now: dt.datetime | None = None) -> int:
    """Delete every key past its expiry; returns how many went."""
    return await repository.delete_expired_keys(session, now or clock.now())
