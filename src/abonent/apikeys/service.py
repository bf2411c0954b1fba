"""API keys for staff tools and integrations. Only a SHA-256 of each key is stored.

A key carries 256 bits of randomness, so a fast hash is as safe as a slow one here and keeps
authentication off the hot path's profile.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.apikeys import repository as repo
from abonent.audit.service import record
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import Conflict, InvalidInput, NotFound, Unauthorized
from abonent.models import ApiKey
from abonent.models.ops import ROLES

PREFIX = "abk_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create(
    session: AsyncSession, *, name: str, role: str, actor: Actor
) -> tuple[ApiKey, str]:
    """Create a key; the plain key is returned once and never stored."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", code="role_invalid")
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise InvalidInput("name is required (≤ 128 characters)", code="name_invalid")
    plain = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        role=role,
        prefix=plain[:10],
        key_hash=_digest(plain),
        active=True,
        created_at=clock.now(),
    )
    session.add(key)
    await session.flush()
    record(
        session,
        actor,
        "apikey.create",
        object_type="api_key",
        object_id=key.id,
        role=role,
        name=name,
    )
    return key, plain


async def authenticate(session: AsyncSession, plain: str | None) -> ApiKey:
    if not plain:
        raise Unauthorized(
            "an API key is required (Authorization: Bearer …)", code="api_key_missing"
        )
    key = await repo.by_hash(session, _digest(plain.strip()))
    if key is None or not key.active:
        raise Unauthorized("the API key is not valid", code="api_key_invalid")
    return key


def actor_of(key: ApiKey) -> Actor:
    return Actor(f"apikey:{key.id}:{key.name}", key.role)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What a request needs to know about its key, detached from any session."""

    id: int
    name: str
    role: str

    @classmethod
    def of(cls, key: ApiKey) -> KeyInfo:
        return cls(key.id, key.name, key.role)

    @property
    def actor(self) -> Actor:
        return Actor(f"apikey:{self.id}:{self.name}", self.role)


class KeyCache:
    """Keys that authenticated recently, kept in process for ``ttl`` seconds.

    Every API request authenticates; without this the key lookup is a database round trip on
    each of them, often the only one besides the work itself. The price: a revoked key keeps
    working in a process that saw it for at most ``ttl`` seconds. Only valid keys are kept
    (never the plain key, only its digest); unknown keys always go to the database.
    """

    def __init__(
        self,
        ttl: float = 5.0,
        max_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self.clock = clock
        self._entries: dict[str, tuple[float, KeyInfo]] = {}
        self._pending: dict[str, asyncio.Future[KeyInfo]] = {}

    def get(self, plain: str) -> KeyInfo | None:
        digest = _digest(plain.strip())
        found = self._entries.get(digest)
        if found is None:
            return None
        expires, info = found
        if self.clock() >= expires:
            self._entries.pop(digest, None)
            return None
        return info

    def put(self, plain: str, info: KeyInfo) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_size:
            self._entries.clear()
        self._entries[_digest(plain.strip())] = (self.clock() + self.ttl, info)

    def clear(self) -> None:
        self._entries.clear()

    async def resolve(self, plain: str, load: Callable[[], Awaitable[KeyInfo]]) -> KeyInfo:
        """The cached answer, or ``load()``: once, however many requests miss at the same time.

        When an entry expires under load, every request in flight misses at once; without this
        each would take a database connection of its own for the same row.
        """
        info = self.get(plain)
        if info is not None:
            return info
        digest = _digest(plain.strip())
        pending = self._pending.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(load())
            self._pending[digest] = pending
            pending.add_done_callback(lambda _done: self._pending.pop(digest, None))
        # Shielded: a caller that gives up does not cancel the lookup the others wait for.
        info = await asyncio.shield(pending)
        self.put(plain, info)
        return info


async def list_keys(session: AsyncSession) -> Sequence[ApiKey]:
    return await repo.all_by_id(session)


async def revoke(session: AsyncSession, key_id: int, *, actor: Actor) -> ApiKey:
    key = await repo.get(session, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}", code="api_key_not_found")
    if not key.active:
        raise Conflict(f"API key {key_id} is already revoked", code="api_key_already_revoked")
    key.active = False
    key.revoked_at = clock.now()
    record(session, actor, "apikey.revoke", object_type="api_key", object_id=key.id)
    await session.flush()
    return key
