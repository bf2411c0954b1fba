"""API keys for staff tools and integrations. Only a SHA-256 of each key is stored.

A key carries 256 bits of randomness, so a fast hash is as safe as a slow one here and keeps
authentication off the hot path's profile.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import InvalidInput, NotFound, Unauthorized
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
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(plain.strip())))
    if key is None or not key.active:
        raise Unauthorized("the API key is not valid", code="api_key_invalid")
    return key


def actor_of(key: ApiKey) -> Actor:
    return Actor(f"apikey:{key.id}:{key.name}", key.role)


async def list_keys(session: AsyncSession) -> Sequence[ApiKey]:
    return (await session.scalars(select(ApiKey).order_by(ApiKey.id))).all()


async def revoke(session: AsyncSession, key_id: int, *, actor: Actor) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}", code="api_key_not_found")
    key.active = False
    key.revoked_at = clock.now()
    record(session, actor, "apikey.revoke", object_type="api_key", object_id=key.id)
    await session.flush()
    return key
