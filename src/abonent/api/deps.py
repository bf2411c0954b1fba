"""FastAPI dependencies shared by every JSON endpoint: the database, the caller, the role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.apikeys import service as apikeys
from abonent.apikeys.permissions import PERMISSIONS, allowed
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.errors import Forbidden, Unauthorized
from abonent.staff.service import TOKEN_PREFIX as STAFF_TOKEN_PREFIX
from abonent.statement.reader import gate as pool_gate
from abonent.statement.reader import read_statement
from abonent.statement.schemas import Statement
from abonent.subscribers import reader as subscriber_reads
from abonent.subscribers import service as subscribers
from abonent.subscribers.errors import NotAuthenticated, WrongAudience
from abonent.subscribers.service import OwnAccount, Principal


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


# --- audiences: who a bearer credential is for ---------------------------------------------------
# Decided here, once, by the credential's shape: API keys are ``abk_…``, staff sessions
# ``abs_…``; a subscriber's token is anything else (``token_urlsafe``, no prefix). Staff routes
# (``staff_deps.py``) take only ``abs_``; API-key routes refuse a subscriber's token when it is
# one (``_refuse_subscriber_token``, on the refusal path only); subscriber routes refuse the
# other two, and any ``X-API-Key``, without a query.

API_KEY, STAFF, SUBSCRIBER = "api_key", "staff", "subscriber"


def audience_of(token: str) -> str:
    """``api_key``, ``staff`` or ``subscriber``: which door this bearer credential is for."""
    if token.startswith(apikeys.PREFIX):
        return API_KEY
    if token.startswith(STAFF_TOKEN_PREFIX):
        return STAFF
    return SUBSCRIBER


# --- the subscriber (mobile app / cabinet) ----------------------------------------------------


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def subscriber_token_of(request: Request) -> str:
    """The bearer token of a subscriber route, or the refusal: none (401), or a credential of
    another audience (403 ``auth.wrong_audience``)."""
    if request.headers.get("x-api-key"):
        raise WrongAudience("a staff API key cannot act as a subscriber")
    token = api_key_of(request)
    if not token:
        raise NotAuthenticated("a subscriber token is required (Authorization: Bearer …)")
    audience = audience_of(token)
    if audience == API_KEY:
        raise WrongAudience("a staff API key cannot act as a subscriber")
    if audience == STAFF:
        raise WrongAudience("a staff session cannot act as a subscriber")
    return token


def _as_subscriber(request: Request, principal: Principal) -> None:
    # A subscriber's Idempotency-Keys are theirs across sessions (a retry after a refresh).
    request.state.idempotency_scope = f"subscriber:{principal.customer_id}"
    request.state.subscriber = principal


class _SubscriberBearer(HTTPBearer):
    """``Subscriber``: a live subscriber access token (documented in OpenAPI as a scheme)."""

    def __init__(self) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="SubscriberToken",
            description="A subscriber's access token from POST /v1/auth/token.",
        )

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        token = subscriber_token_of(request)
        async with database_of(request).session() as session:
            principal = await subscribers.authenticate(session, token)
        _as_subscriber(request, principal)
        return principal


class _OwnAccountBearer(_SubscriberBearer):
    """``Own``: the caller and the account ``{number}`` of the path, which must be theirs; one
    query for both. Another customer's account is refused exactly as an unknown number."""

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        number: Annotated[str, Path(description="account number (12 digits)", max_length=64)],
    ) -> OwnAccount:
        token = subscriber_token_of(request)
        db = database_of(request)
        # One statement outside any transaction; a unit of work only when a write is due, under
        # the same gate as the hot-path reads so that it never needs an overflow connection.
        checked = await subscriber_reads.own_account(db.engine, token, number)
        if checked is None:
            async with pool_gate(db.engine), db.session() as session:
                own = await subscribers.authenticate_for_account(session, token, number)
        else:
            own = checked.own
            if checked.seen is not None:
                async with pool_gate(db.engine), db.session() as session:
                    await subscribers.record_seen(session, checked.seen)
        _as_subscriber(request, own.principal)
        return own


class _OwnStatementBearer(_SubscriberBearer):
    """``OwnStatement``: as ``Own``, and the statement of that account, on PostgreSQL in the
    same query as the checks (``subscriber_reads.own_statement``): one connection, one round
    trip. The same refusals as ``Own``, the same once-a-minute write of the session's use."""

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        number: Annotated[str, Path(description="account number (12 digits)", max_length=64)],
    ) -> Statement:
        token = subscriber_token_of(request)
        db = database_of(request)
        found = await subscriber_reads.own_statement(db.engine, token, number)
        if found is None:
            async with pool_gate(db.engine), db.session() as session:
                own = await subscribers.authenticate_for_account(session, token, number)
            statement = await read_statement(db.engine, own.number)
        else:
            own, statement = found.checked.own, found.statement
            if found.checked.seen is not None:
                async with pool_gate(db.engine), db.session() as session:
                    await subscribers.record_seen(session, found.checked.seen)
        _as_subscriber(request, own.principal)
        return statement


subscriber = _SubscriberBearer()
Subscriber = Annotated[Principal, Depends(subscriber)]
Own = Annotated[OwnAccount, Depends(_OwnAccountBearer())]
"""A route under ``/v1/me/accounts/{number}/…`` takes this instead of ``Subscriber``."""
OwnStatement = Annotated[Statement, Depends(_OwnStatementBearer())]
"""``/v1/me/accounts/{number}/statement``: the caller's account's statement, checked as ``Own``."""
