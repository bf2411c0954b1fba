"""``/agents/osmp/{code}``: the OSMP (QIWI) provider protocol over HTTP.

This surface owns the unit of work and turns every outcome into one XML answer: protocol
results with HTTP 200, authentication refusals with 401/403 (and result 8). See ``docs/osmp.md``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.formparsers import MultiPartException, MultiPartParser

from abonent.api.v1.responses import problem
from abonent.audit.service import record
from abonent.config import Settings
from abonent.db.uow import Database, is_transient
from abonent.kit.errors import AbonentError
from abonent.ledger.pg_agent_pay import OutcomeUnknown
from abonent.models import PaymentAgent
from abonent.payments.agents import osmp
from abonent.payments.agents import service as agents
from abonent.payments.agents.errors import AgentAddressRefused, AgentAuthFailed, AgentDisabled
from abonent.payments.agents.osmp import Answer, OsmpRequest, ProtocolError, Result
from abonent.payments.errors import DuplicateMismatch

log = structlog.get_logger(__name__)
router = APIRouter(tags=["payment agents"])

T = TypeVar("T")
MEDIA_TYPE = "text/xml; charset=utf-8"
_MAX_FIELDS = 64
# Every OSMP value is a few dozen characters; a part of more is not a parameter.
_MAX_PART_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Caller:
    code: str
    username: str | None
    password: str | None
    address: str | None


_XML = {"content": {"text/xml": {"schema": {"type": "string", "description": "<response>"}}}}
# Every answer is XML (docs/osmp.md): results with 200, caller refusals with 401/403 and
# result 8. Only an oversized body is refused before the protocol, as a problem.
_ANSWERS: dict[int | str, dict[str, object]] = {
    200: {"description": "a result code, 0 or a refusal (§4)", **_XML},
    401: {"description": "no, malformed or wrong credentials: result 8", **_XML},
    403: {"description": "address not allowed, unknown or disabled agent: result 8", **_XML},
    413: problem("the body is over the size limit"),
}


@router.get(
    "/agents/osmp/{code}",
    response_class=Response,
    responses=_ANSWERS,
    operation_id="osmp_get",
    summary="OSMP (QIWI) provider protocol: check and pay, parameters in the query",
)
@router.post(
    "/agents/osmp/{code}",
    response_class=Response,
    responses=_ANSWERS,
    operation_id="osmp_post",
    summary="OSMP (QIWI) provider protocol: check and pay, parameters as a form",
)
async def osmp_call(code: str, request: Request) -> Response:
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    username, password = _basic_credentials(request.headers.get("authorization"))
    caller = Caller(code, username, password, _address(request, settings))
    params: dict[str, str] = {}
    req: OsmpRequest | ProtocolError
    try:
        params = osmp.collect(await _pairs(request))
        req = osmp.parse(params, timezone=settings.timezone)
    except ProtocolError as exc:
        req = exc
    try:
        answer = await _serve(db, caller, req, params)
    except (AgentAddressRefused, AgentAuthFailed, AgentDisabled) as exc:
        return _refuse_caller(caller, exc, params)
    if answer.result != Result.OK:
        log.info(
            "osmp.refused",
            agent=code,
            command=params.get("command"),
            txn_id=answer.txn_id,
            result=int(answer.result),
            comment=answer.comment,
        )
    return Response(osmp.render(answer), media_type=MEDIA_TYPE)


async def _serve(
    db: Database, caller: Caller, req: OsmpRequest | ProtocolError, params: dict[str, str]
) -> Answer:
    txn_id, amount = osmp.echo(params)
    if isinstance(req, ProtocolError):
        # Authenticate first: a stranger learns nothing, not even that the request was malformed.
        try:
            await _authorized(db, caller, None, write=False, body=_nothing)
        except (AgentAddressRefused, AgentAuthFailed, AgentDisabled):
            raise
        except Exception as exc:
            return _failure(exc, txn_id, amount, temporary=Result.TEMPORARY)
        return Answer(req.result, req.comment, txn_id=txn_id, amount_minor=amount)
    if req.command == "check":
        return await _check(db, caller, req)
    return await _pay(db, caller, req)


async def _check(db: Database, caller: Caller, req: OsmpRequest) -> Answer:
    try:
        return await _authorized(db, caller, req.account, write=False, body=osmp_check(req))
    except (AgentAddressRefused, AgentAuthFailed, AgentDisabled):
        raise
    except Exception as exc:
        # Nothing is written by check; a database that cannot answer now is "cannot check".
        return _failure(exc, req.txn_id, req.amount_minor, temporary=Result.CANNOT_CHECK)


async def _pay(db: Database, caller: Caller, req: OsmpRequest) -> Answer:
    if not db.is_sqlite and caller.password and agents.code_well_formed(caller.code):
        answer = await _pay_in_one_statement(db, caller, req)
        if answer is not None:
            return answer
    reached_commit = False

    async def body(session: AsyncSession, agent: PaymentAgent, target: osmp.Target) -> Answer:
        nonlocal reached_commit
        reached_commit = False
        booked = await osmp.pay(session, agent, req, target)
        # Everything is flushed; what remains is the COMMIT, whose outcome a lost connection
        # would leave unknown.
        reached_commit = True
        return Answer(
            Result.OK,
            "OK" if booked.created else "OK (already booked)",
            txn_id=req.txn_id,
            prv_txn=booked.payment.id,
            amount_minor=booked.payment.amount_minor,
        )

    try:
        return await _authorized(db, caller, req.account, write=True, body=body)
    except (AgentAddressRefused, AgentAuthFailed, AgentDisabled):
        raise
    except DuplicateMismatch as exc:
        await _record_mismatch(db, caller, req, exc)
        return _failure(exc, req.txn_id, req.amount_minor, temporary=Result.TEMPORARY)
    except Exception as exc:
        if reached_commit and not isinstance(exc, AbonentError):
            # Booked and flushed, but the commit failed or its answer was lost: the agent retries
            # and the replay finds the payment, or books it if the commit never happened.
            log.warning(
                "osmp.commit_unknown", agent=caller.code, txn_id=req.txn_id, error=repr(exc)
            )
            return Answer(
                Result.NOT_FINISHED,
                "payment not finished; retry",
                txn_id=req.txn_id,
                amount_minor=req.amount_minor,
            )
        return _failure(exc, req.txn_id, req.amount_minor, temporary=Result.TEMPORARY)


async def _pay_in_one_statement(db: Database, caller: Caller, req: OsmpRequest) -> Answer | None:
    """The payment in one statement, its own unit of work (PostgreSQL), for a caller its agent's
    copy admits; None: the general path below decides and answers, as it does every refusal.

    Measured (docs/osmp-pay-path.md): the general path costs five round trips and a session;
    this one, one round trip on a bare driver connection.
    """
    try:
        async with db.statement_connection() as connection:
            agent = await agents.agent_copy(connection, caller.code)
            if agent is None or not agents.admits(
                agent, username=caller.username, password=caller.password, address=caller.address
            ):
                return None
            return await osmp.pay_once(connection, agent, req)
    except OutcomeUnknown as exc:
        # Sent, and the connection failed before the answer: it may have committed. The
        # agent's retry finds the payment or books it.
        log.warning("osmp.commit_unknown", agent=caller.code, txn_id=req.txn_id, error=str(exc))
        return Answer(
            Result.NOT_FINISHED,
            "payment not finished; retry",
            txn_id=req.txn_id,
            amount_minor=req.amount_minor,
        )
    except Exception as exc:
        # Nothing was sent (no connection, the agent's row unreadable): the general path
        # meets the same trouble and answers it.
        if not _database_unavailable(exc):
            log.exception("osmp.one_statement_failed", error=repr(exc)[:300])
        return None


Body = Callable[[AsyncSession, PaymentAgent, osmp.Target], Awaitable[T]]


async def _authorized(
    db: Database, caller: Caller, account: str | None, *, write: bool, body: Body[T]
) -> T:
    """Authenticate and run ``body`` in one unit of work (a retried one when it writes).

    The agent and the account come back from one query; nothing about the account is used
    before the agent is authorised. A password not yet verified in this process leaves the
    unit: argon2 then runs in a thread with no transaction (and no SQLite write lock) held,
    and the unit starts again.
    """

    async def work(session: AsyncSession) -> T:
        agent, target = None, osmp.Target(None)
        if agents.code_well_formed(caller.code):
            agent, target = await osmp.load(session, caller.code, account)
        agent = agents.authorize(
            agent, username=caller.username, password=caller.password, address=caller.address
        )
        return await body(session, agent, target)

    for _ in range(2):
        try:
            if write:
                return await db.run(work)
            async with db.session() as session:
                return await work(session)
        except agents.PasswordUnverified as pending:
            assert caller.password is not None  # authorize checked it
            if not await agents.verify_password(pending, caller.password):
                raise AgentAuthFailed("wrong agent code or password") from None
    # The password hash changed between two tries: let the agent come again.
    raise AgentAuthFailed("agent credentials changed during the request")


async def _nothing(_session: AsyncSession, _agent: PaymentAgent, _target: osmp.Target) -> None:
    return None


def osmp_check(req: OsmpRequest) -> Body[Answer]:
    async def body(session: AsyncSession, agent: PaymentAgent, target: osmp.Target) -> Answer:
        return await osmp.check(session, agent, req, target)

    return body


def _failure(exc: Exception, txn_id: str, amount: int | None, *, temporary: Result) -> Answer:
    """The answer for anything that went wrong: a refusal, or a failure of ours."""
    if isinstance(exc, ProtocolError):
        return Answer(exc.result, exc.comment, txn_id=txn_id, amount_minor=amount)
    if isinstance(exc, AbonentError):
        return Answer(osmp.result_for(exc), exc.detail, txn_id=txn_id, amount_minor=amount)
    if _database_unavailable(exc):
        log.warning("osmp.database_unavailable", error=repr(exc)[:300])
        comment = (
            "cannot check the account now; try later"
            if temporary == Result.CANNOT_CHECK
            else "temporary error; retry"
        )
        return Answer(temporary, comment, txn_id=txn_id, amount_minor=amount)
    log.exception("osmp.unexpected", error=repr(exc)[:300])
    return Answer(
        Result.TECHNICAL,
        "refused for technical reasons; nothing was booked",
        txn_id=txn_id,
        amount_minor=amount,
    )


def _database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and (exc.connection_invalidated or is_transient(exc))


async def _record_mismatch(
    db: Database, caller: Caller, req: OsmpRequest, exc: DuplicateMismatch
) -> None:
    """Audit the reused txn_id in a unit of its own: the refused unit has rolled back."""

    async def write(session: AsyncSession) -> None:
        record(
            session,
            osmp.agent_actor_for_code(caller.code),
            "osmp.txn_mismatch",
            object_type="payment",
            object_id=exc.extra.get("payment_id", ""),
            reason="txn_id reused with another account or amount",
            txn_id=req.txn_id,
            account=req.account,
            amount_minor=req.amount_minor,
            currency=req.currency,
        )

    try:
        await db.run(write)
    except Exception as error:
        log.error("osmp.txn_mismatch_unrecorded", agent=caller.code, error=repr(error)[:300])


def _refuse_caller(caller: Caller, exc: AbonentError, params: dict[str, str]) -> Response:
    log.warning(
        "osmp.caller_refused",
        agent=caller.code,
        address=caller.address,
        code=exc.code,
        # Never the typed user name: a password typed into that field would land in the log.
        username_length=None if caller.username is None else len(caller.username),
    )
    txn_id, amount = osmp.echo(params)
    answer = Answer(Result.TECHNICAL, exc.detail, txn_id=txn_id, amount_minor=amount)
    headers = (
        {"WWW-Authenticate": 'Basic realm="osmp", charset="UTF-8"'} if exc.status == 401 else None
    )
    return Response(
        osmp.render(answer), status_code=exc.status, media_type=MEDIA_TYPE, headers=headers
    )


# --- HTTP details ------------------------------------------------------------------------------


async def _pairs(request: Request) -> list[tuple[str, str]]:
    """Query string, then (for POST) the urlencoded or multipart form."""
    pairs = list(request.query_params.multi_items())
    if request.method != "POST":
        return pairs
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("", "application/x-www-form-urlencoded"):
        body = await request.body()
        try:
            pairs += parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                errors="strict",
                max_num_fields=_MAX_FIELDS,
            )
        except (UnicodeDecodeError, ValueError):
            raise ProtocolError(Result.OTHER, "the form is not valid UTF-8 urlencoded") from None
    elif content_type == "multipart/form-data":
        pairs += await _multipart(request)
    return pairs


async def _multipart(request: Request) -> list[tuple[str, str]]:
    """The fields of a multipart form, or result 300 at the first thing that is not one.

    Starlette's parser directly rather than ``request.form()``, which turns these refusals into
    an HTTP 400 of its own: a file part (refused at its headers, before any of it is stored), a
    65th field, a part header it cannot read, no boundary. Parsing stops there.
    """
    try:
        async with aclosing(request.stream()) as stream:
            parser = MultiPartParser(
                request.headers,
                stream,
                max_files=0,
                max_fields=_MAX_FIELDS,
                max_part_size=_MAX_PART_BYTES,
            )
            form = await parser.parse()
    except MultiPartException as exc:
        raise ProtocolError(Result.OTHER, f"malformed multipart form: {exc.message}") from None
    except ValueError:
        # python-multipart's own refusals (a boundary it cannot use) are ValueErrors; a body
        # over the size limit or a client gone are not, and keep their own handling.
        raise ProtocolError(Result.OTHER, "malformed multipart form") from None
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


def _basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    if not header or header[:6].lower() != "basic ":
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None, None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else (None, None)


def _address(request: Request, settings: Settings) -> str | None:
    """The caller's address. Behind a trusted proxy, the hop that proxy appended (the last one):
    earlier hops are whatever the client chose to send."""
    if settings.osmp.trust_forwarded_for:
        hops = [
            hop.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",")
            if hop.strip()
        ]
        if hops:
            return hops[-1]
    return request.client.host if request.client else None
