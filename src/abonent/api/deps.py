"""FastAPI dependencies shared by every JSON endpoint: the database, the caller, the role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.apikeys import service as apikeys
from abonent.apikeys.permissions import allowed
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.errors import Forbidden


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def read_session(db: Annotated[Database, Depends(get_db)]) -> AsyncIterator[AsyncSession]:
    """A read unit of work for the request; writes go through ``Database.run`` instead."""
    async with db.session() as session:
        yield session


def _bearer(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:]
    return None


def require(permission: str) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """Dependency: the caller's API key must exist, be active and have ``permission``."""

    async def _check(
        request: Request,
        session: Annotated[AsyncSession, Depends(read_session)],
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Actor:
        plain = _bearer(authorization, x_api_key)
        # Shares the request's read unit of work (FastAPI caches the dependency per request).
        key = await apikeys.authenticate(session, plain)
        actor = apikeys.actor_of(key)
        if not allowed(key.role, permission):
            raise Forbidden(f"role {key.role} may not {permission}", code="role_forbidden")
        request.state.actor = actor
        request.state.api_key_id = key.id
        return actor

    return _check


Session = Annotated[AsyncSession, Depends(read_session)]
Db = Annotated[Database, Depends(get_db)]
