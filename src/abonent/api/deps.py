"""FastAPI dependencies shared by every JSON endpoint: the database, the caller, the role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.apikeys import service as apikeys
from abonent.apikeys.permissions import PERMISSIONS, allowed
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.errors import Forbidden, Unauthorized
from abonent.subscribers import service as subscribers
from abonent.subscribers.errors import NotAuthenticated, WrongAudience
from abonent.subscribers.service import Principal


async def get_db(request: Request) -> Database:
    # ``async`` on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, which
    # costs more than everything else this does (measured on the statement endpoint).
    db: Database = request.app.state.db
    return db


async def read_session(db: Annotated[Database, Depends(get_db)]) -> AsyncIterator[AsyncSession]:
    """A read unit of work for the request; writes go through ``Database.run`` instead."""
    async with db.session() as session:
        yield session


# Recently authenticated keys, per process (see ``KeyCache``: a revocation takes effect
# within its ttl). Tests may swap its clock or clear it.
key_cache = apikeys.KeyCache(ttl=5.0)


def database_of(request: Request) -> Database:
    """The app's database, for endpoints that already take the request (no extra dependency)."""
    db: Database = request.app.state.db
    return db


def api_key_of(request: Request) -> str | None:
    """The key from ``X-API-Key``, or from ``Authorization: Bearer <key>``."""
    headers = request.headers
    key = headers.get("x-api-key")
    if key:
        return key
    authorization = headers.get("authorization")
    if authorization and authorization[:7].lower() == "bearer " and authorization[7:].strip():
        return authorization[7:]
    return None


async def _refuse_subscriber_token(session: AsyncSession, token: str) -> None:
    try:
        await subscribers.authenticate(session, token)
    except NotAuthenticated:
        return
    raise WrongAudience("a subscriber token cannot call a staff endpoint")


class _Require(HTTPBearer):
    """The dependency ``require(permission)`` returns.

    To FastAPI it is an HTTP bearer security scheme, so that OpenAPI documents the API key on
    every route that needs one; to the request it is one dependency with one parameter. Every
    dependency FastAPI resolves costs about as much as the key check itself on a cache hit
    (measured: the statement route needed 15 % less CPU per request once ``require`` had no
    sub-dependencies), hence no ``Header`` parameters and no nested ``Depends`` here.
    """

    def __init__(self, permission: str) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="ApiKey",
            description="An API key (abk_…), as `Authorization: Bearer` or `X-API-Key`.",
        )
        self.permission = permission

    async def __call__(self, request: Request) -> Actor:  # type: ignore[override]
        plain = api_key_of(request)
        if not plain:
            raise Unauthorized(
                "an API key is required (Authorization: Bearer …)", code="api_key_missing"
            )
        info = key_cache.get(plain)
        if info is None:
            db = database_of(request)

            async def load() -> apikeys.KeyInfo:
                # A short read unit of its own: a cache hit costs no database work at all.
                async with db.session() as session:
                    try:
                        return apikeys.KeyInfo.of(await apikeys.authenticate(session, plain))
                    except Unauthorized:
                        # Only on the refusal path: say so when it is a subscriber's token.
                        if not plain.startswith(apikeys.PREFIX):
                            await _refuse_subscriber_token(session, plain)
                        raise

            info = await key_cache.resolve(plain, load)
        if not allowed(info.role, self.permission):
            raise Forbidden(f"role {info.role} may not {self.permission}", code="role_forbidden")
        actor = info.actor
        request.state.actor = actor
        request.state.api_key_id = info.id
        return actor


def require(permission: str) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """Dependency: the caller's API key must exist, be active and have ``permission``."""
    if permission not in PERMISSIONS:
        # A typo here would lock every role out of the endpoint without a word.
        raise ValueError(f"unknown permission {permission!r}")
    return _Require(permission)


Session = Annotated[AsyncSession, Depends(read_session)]
Db = Annotated[Database, Depends(get_db)]


# --- the subscriber (mobile app / cabinet) ----------------------------------------------------


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def subscriber(request: Request) -> Principal:
    """Dependency: a subscriber's access token. A staff API key is the wrong audience here."""
    token = api_key_of(request)
    if not token:
        raise NotAuthenticated("a subscriber token is required (Authorization: Bearer …)")
    if token.startswith(apikeys.PREFIX):
        raise WrongAudience("a staff API key cannot act as a subscriber")
    async with database_of(request).session() as session:
        return await subscribers.authenticate(session, token)


Subscriber = Annotated[Principal, Depends(subscriber)]
