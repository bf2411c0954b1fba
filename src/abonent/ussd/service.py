"""The entry point every USSD transport calls: one dialogue step, one unit of work.

The transport (HTTP callback, SMPP) turns its message into a :class:`UssdRequest` and sends the
:class:`UssdReply` back. Here the session row is locked, the engine is asked what to show, the
action it returns is carried out (the details SMS, taking the promised payment), and the unit
commits. Nothing escapes: any failure is logged once and becomes a plain closing screen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.config import Settings
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import AbonentError, InvalidInput
from abonent.kit.numbers import mask_msisdn, normalize_msisdn
from abonent.models import Account, Service, UssdSession
from abonent.notices import service as notices
from abonent.outbox import service as outbox
from abonent.promised import service as promised
from abonent.promised.errors import PromisedRefused
from abonent.statement.service import statement_by_number
from abonent.throttle.errors import RateLimited
from abonent.ussd import engine, fast
from abonent.ussd import repository as repo

log = structlog.get_logger(__name__)

MAX_SESSION_ID = 64
MAX_TEXT = 182
MAX_CODE = 32


@dataclass(frozen=True, slots=True)
class UssdRequest:
    session_id: str
    """The transport's session id."""
    msisdn: str
    """As received (normalised here with kit.numbers.normalize_msisdn)."""
    service_code: str
    """e.g. "*100#"."""
    text: str
    """"" first, then all inputs so far joined by "*"."""


@dataclass(frozen=True, slots=True)
class UssdReply:
    text: str
    """The screen, without the CON/END prefix."""
    end: bool
    """True: close the session."""


async def answer(db: Database, settings: Settings, request: UssdRequest) -> UssdReply:
    """One step of a dialogue. Never raises: a failure is a closing 'temporarily unavailable'."""
    try:
        fast = await _fast(db, settings, request)
        if fast is not None:
            return UssdReply(fast.text, fast.end)
        reply = await db.run(lambda session: _step(session, settings, request))
    except Exception:
        log.exception(
            "ussd.failed",
            session_id=request.session_id[:MAX_SESSION_ID],
            service_code=request.service_code[:MAX_CODE],
            msisdn=_masked(request.msisdn),
        )
        return UssdReply(engine.UNAVAILABLE, True)
    return UssdReply(reply.text, reply.end)


async def _fast(db: Database, settings: Settings, request: UssdRequest) -> engine.Reply | None:
    if len(request.session_id) > MAX_SESSION_ID or not request.session_id:
        return None
    return await fast.balance(
        db.engine,
        settings,
        session_id=request.session_id,
        msisdn_raw=request.msisdn,
        service_code=request.service_code,
        text=request.text,
    )


def _masked(raw: str) -> str:
    try:
        return mask_msisdn(normalize_msisdn(raw))
    except Exception:
        return "?"


def _dialogue(settings: Settings, code: str) -> engine.Dialogue | None:
    prefix = settings.notices.ussd_verify_prefix
    if prefix and code.startswith(prefix) and code.endswith("#"):
        return "verify"
    if code == settings.ussd.balance_code:
        return "balance"
    if code == settings.ussd.promised_code:
        return "promised"
    return None


def _dialled(code: str, inputs: list[str]) -> str:
    """Gateways that pass '*100#' with text '3' for a dialled '*100*3#' (first request only)."""
    if not inputs or not code.endswith("#"):
        return code
    return code[:-1] + "*" + "*".join(inputs) + "#"


async def _step(session: AsyncSession, settings: Settings, request: UssdRequest) -> engine.Reply:
    if (
        not request.session_id
        or len(request.session_id) > MAX_SESSION_ID
        or len(request.service_code) > MAX_CODE
        or len(request.text) > MAX_TEXT
    ):
        return engine.Reply(engine.OUT_OF_SYNC, True)
    try:
        msisdn = normalize_msisdn(request.msisdn)
    except InvalidInput:
        return engine.unknown_number(settings.hotline).reply
    inputs = request.text.split("*") if request.text else []
    now = clock.now()
    row = await repo.session_for_update(session, request.session_id)
    if row is None:
        code = request.service_code
        if inputs and _dialogue(settings, code) == "balance":
            code, inputs = _dialled(code, inputs), []
        if inputs:
            # A continuation of a dialogue this database never saw (or purged long ago).
            return engine.Reply(engine.EXPIRED, True)
        dialogue = _dialogue(settings, code)
        if dialogue is None:
            return engine.Reply(engine.UNKNOWN_CODE, True)
        row = UssdSession(
            session_id=request.session_id,
            msisdn=msisdn,
            service_code=request.service_code,
            status="open",
            state={},
            steps=0,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        if dialogue == "verify":
            body = code[len(settings.notices.ussd_verify_prefix) : -1]
            step = await _verify(session, settings, msisdn, engine.verify_start(body))
        else:
            step = await _start(session, settings, dialogue, msisdn, request.session_id)
        return _save(row, step, request.text, now)
    if row.msisdn != msisdn or row.service_code != request.service_code or row.status != "open":
        # A new dialogue reusing the id of another (or of an ended one): never mixed with it.
        return engine.Reply(engine.REPEATED, True)
    if (now - row.updated_at).total_seconds() > settings.ussd.session_ttl_seconds:
        return _save(row, engine.Step(engine.Reply(engine.EXPIRED, True)), request.text, now)
    state: dict[str, Any] = dict(row.state or {})
    seen: str = state.get("text", "")
    last = state.get("last")
    if request.text == seen and isinstance(last, dict):
        # The transport retried the same step: the same screen, nothing done twice.
        return engine.Reply(str(last["text"]), bool(last["end"]))
    prior = seen.split("*") if seen else []
    if len(inputs) != len(prior) + 1 or inputs[: len(prior)] != prior:
        return _save(row, engine.Step(engine.Reply(engine.OUT_OF_SYNC, True)), request.text, now)
    step = engine.choose(state.get("engine", {}), inputs[-1])
    step = await _verify(session, settings, msisdn, step)
    if isinstance(step.action, engine.Take):
        step = await _take(session, settings, msisdn, step.action.amount_minor)
    return _save(row, step, request.text, now)


def _save(row: UssdSession, step: engine.Step, text: str, now: dt.datetime) -> engine.Reply:
    row.status = "ended" if step.reply.end else "open"
    row.state = {
        "engine": step.state,
        "text": text,
        "last": {"text": step.reply.text, "end": step.reply.end},
    }
    row.steps = (row.steps or 0) + 1
    row.updated_at = now
    return step.reply


async def _verify(
    session: AsyncSession, settings: Settings, msisdn: str, step: engine.Step
) -> engine.Step:
    """Carry out a notice check the engine asked for (rate-limited per phone number)."""
    if not isinstance(step.action, engine.Verify):
        return step
    try:
        found = await notices.verify(
            session, step.action.code, step.action.last4, client_key=f"msisdn:{msisdn}"
        )
    except RateLimited:
        return engine.Step(engine.Reply(engine.VERIFY_LIMIT, True))
    except InvalidInput:
        return engine.Step(engine.Reply(engine.VERIFY_FORMAT, True))
    return engine.verify_answer(
        found.genuine,
        sent_on=found.sent_on,
        amount_minor=found.amount_minor,
        hotline=settings.hotline,
    )


async def _whom(
    session: AsyncSession, settings: Settings, msisdn: str
) -> tuple[Service, Account] | engine.Step:
    found = await repo.subscriber(session, msisdn)
    if found is None:
        return engine.unknown_number(settings.hotline)
    return found


async def _start(
    session: AsyncSession,
    settings: Settings,
    dialogue: engine.Dialogue,
    msisdn: str,
    session_id: str,
) -> engine.Step:
    found = await _whom(session, settings, msisdn)
    if isinstance(found, engine.Step):
        return found
    service, account = found
    statement = await statement_by_number(session, account.number)
    if service.status == "closed":
        return engine.closed_sim(settings.hotline, statement)
    if account.status == "closed":
        return engine.account_closed(statement, settings.hotline)
    if account.status == "suspended":
        return engine.account_suspended(statement, settings.hotline)
    if dialogue == "balance":
        step = engine.balance(statement, details_by_sms=settings.ussd.details_by_sms)
        if isinstance(step.action, engine.SendDetails):
            await outbox.enqueue(
                session,
                outbox.SMS_SEND,
                {
                    "to": msisdn,
                    "text": engine.details_sms(statement),
                    "kind": "ussd_details",
                    "category": "service",
                },
                account_id=account.id,
                # The session row is new in this unit: its key cannot exist yet.
                dedupe_key=f"sms:ussd:{session_id}",
                fresh=True,
            )
        return step
    current = statement.promised_payment
    if current is not None and current.get("status") == "in_force":
        return engine.promised_in_force(current)
    try:
        offered = await promised.offer(session, account)
    except PromisedRefused as exc:
        return engine.refusal(exc.detail)
    return engine.offer_menu(offered)


async def _take(
    session: AsyncSession, settings: Settings, msisdn: str, amount_minor: int
) -> engine.Step:
    found = await _whom(session, settings, msisdn)
    if isinstance(found, engine.Step):
        return found
    service, account = found
    if service.status == "closed":
        return engine.closed_sim(settings.hotline)
    try:
        taken = await promised.take(
            session, account, amount_minor, channel="ussd", actor=Actor(f"ussd:{msisdn}")
        )
    except AbonentError as exc:
        return engine.refusal(exc.detail)
    p = taken.promised
    return engine.taken(p.amount_minor, p.fee_minor, p.due_date, p.currency)


async def purge_sessions(session: AsyncSession, older_than: dt.datetime) -> int:
    """Forget dialogues last touched before ``older_than`` (they ended long ago)."""
    return await repo.purge_sessions(session, older_than)
