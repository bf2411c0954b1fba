"""The OSMP (QIWI) provider protocol: parameters in, one XML answer out.

The agent calls ``/agents/osmp/{code}`` with ``command=check`` or ``command=pay``; we answer
``<response>`` with a result code from the fixed list below. This module parses the parameters,
runs the two commands against the services (it never commits: the endpoint owns the unit of
work), maps every refusal to its result code, and renders the answer. See ``docs/osmp.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import service as accounts
from abonent.accounts.errors import AccountNotFound
from abonent.kit.actor import Actor
from abonent.kit.errors import AbonentError, BusinessRuleViolation, InvalidInput, Unavailable
from abonent.kit.inputs import check_date, text_fault
from abonent.kit.money import format_plain, parse_amount
from abonent.kit.numbers import mask_name
from abonent.models import Account, AccountBalance, PaymentAgent
from abonent.payments import once as payments_once
from abonent.payments import service as payments
from abonent.payments import sources
from abonent.payments.agents import service as agents
from abonent.payments.agents.errors import AmountAboveMaximum, AmountBelowMinimum
from abonent.payments.errors import (
    AccountNotPayable,
    AmountInvalid,
    DuplicateMismatch,
    PaymentRefused,
)

log = structlog.get_logger(__name__)

COMMANDS = ("check", "pay")
TXN_ID_MAX_DIGITS = 20
# ASCII digits only, the whole value: \d would admit other scripts' digits, $ a trailing newline.
_TXN_ID = re.compile(rf"[0-9]{{1,{TXN_ID_MAX_DIGITS}}}")
_TXN_DATE = re.compile(r"[0-9]{14}")
_CCY_ALPHA = re.compile(r"[A-Z]{3}")
# ISO 4217 numeric codes an agent may send instead of letters; RUR is the pre-1998 code many
# agents still send for roubles.
_CCY_NUMERIC = {"643": "RUB", "840": "USD", "978": "EUR"}
_CCY_ALIASES = {"RUR": "RUB"}
# What pay_once assumes when the agent sends no ccy; an account held in another currency takes
# the general path, which books in the account's own.
DEFAULT_CURRENCY = "RUB"
# Every parameter the commands read. A control character in any is a malformed request: it would
# otherwise be stripped away (sum, ccy) or reach the database (account) as something the agent
# did not mean.
_READ = ("command", "txn_id", "account", "sum", "ccy", "txn_date")


class Result(IntEnum):
    """OSMP result codes. 1 and 90 are temporary (the agent retries); every other refusal is
    final for that request."""

    OK = 0
    TEMPORARY = 1
    ACCOUNT_FORMAT = 4
    ACCOUNT_NOT_FOUND = 5
    REFUSED = 7
    TECHNICAL = 8
    ACCOUNT_NOT_ACTIVE = 79
    NOT_FINISHED = 90
    AMOUNT_TOO_SMALL = 241
    AMOUNT_TOO_LARGE = 242
    CANNOT_CHECK = 243
    OTHER = 300


class ProtocolError(Exception):
    """A refusal decided by the protocol layer itself (malformed request, temporary state)."""

    def __init__(self, result: Result, comment: str) -> None:
        super().__init__(comment)
        self.result = result
        self.comment = comment


@dataclass(frozen=True, slots=True)
class OsmpRequest:
    command: str
    txn_id: str
    account: str
    amount_minor: int
    currency: str | None
    """ISO letters ('RUB'), or None when the agent sent no ``ccy``: the account's currency."""
    txn_date: dt.datetime | None
    """``pay`` only: when the payer paid, aware UTC (the agent sends operator local time)."""


@dataclass(frozen=True, slots=True)
class Answer:
    result: Result
    comment: str
    txn_id: str = ""
    prv_txn: int | None = None
    amount_minor: int | None = None
    fields: Sequence[tuple[str, str]] = ()
    """Extra ``<fields>`` shown to the payer on ``check`` (per the agent's disclosure)."""


# --- parameters --------------------------------------------------------------------------------


def collect(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Parameters from the query string and the form, in order. One name given twice with two
    different values is ambiguous and refused (result 300)."""
    out: dict[str, str] = {}
    for name, value in pairs:
        if name in out and out[name] != value:
            raise ProtocolError(Result.OTHER, f"parameter {name} given twice with different values")
        out[name] = value
    return out


def parse(params: Mapping[str, str], *, timezone: str) -> OsmpRequest:
    """Validate the parameters of ``check`` or ``pay``; anything malformed is result 300."""
    for name in _READ:
        fault = text_fault(params.get(name, ""))
        if fault:
            raise ProtocolError(Result.OTHER, f"{name} must not contain {fault}")
    command = _required(params, "command")
    if command not in COMMANDS:
        raise ProtocolError(Result.OTHER, f"unknown command {command[:32]!r}")
    txn_id = _required(params, "txn_id")
    if not _TXN_ID.fullmatch(txn_id):
        raise ProtocolError(
            Result.OTHER, f"txn_id must be 1-{TXN_ID_MAX_DIGITS} digits: {txn_id[:40]!r}"
        )
    account = _required(params, "account")
    raw_sum = _required(params, "sum")
    try:
        amount = parse_amount(raw_sum, field="sum")
    except InvalidInput as exc:
        raise ProtocolError(Result.OTHER, exc.detail) from None
    currency = _currency(params.get("ccy"))
    txn_date = None
    if command == "pay":
        txn_date = _txn_date(_required(params, "txn_date"), timezone)
    return OsmpRequest(command, txn_id, account, amount, currency, txn_date)


def echo(params: Mapping[str, str]) -> tuple[str, int | None]:
    """What a refusal echoes back: the agent's txn_id and, when it parses, the sum."""
    txn_id = params.get("txn_id", "")[:64]
    try:
        amount: int | None = parse_amount(params.get("sum", ""))
    except InvalidInput:
        amount = None
    return txn_id, amount


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value.strip():
        raise ProtocolError(Result.OTHER, f"missing parameter {name}")
    return value


def _currency(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip().upper()
    if text in _CCY_NUMERIC:
        return _CCY_NUMERIC[text]
    if _CCY_ALPHA.fullmatch(text):
        return _CCY_ALIASES.get(text, text)
    raise ProtocolError(Result.OTHER, f"ccy is not a currency code: {raw[:16]!r}")


def _txn_date(raw: str, timezone: str) -> dt.datetime:
    if not _TXN_DATE.fullmatch(raw):
        raise ProtocolError(Result.OTHER, f"txn_date must be YYYYMMDDHHMMSS: {raw[:32]!r}")
    try:
        # The shape is checked above; the constructor refuses what is not a date. strptime would
        # do the same at several times the cost, on every pay.
        local = dt.datetime(  # noqa: DTZ001 - zone set below
            int(raw[0:4]),
            int(raw[4:6]),
            int(raw[6:8]),
            int(raw[8:10]),
            int(raw[10:12]),
            int(raw[12:14]),
        )
        # Year 1 or 9999 is a date, but not one a payment happened on, and moving it to UTC
        # overflows.
        check_date(local)
        return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ProtocolError(Result.OTHER, f"txn_date is not a date: {raw!r}") from None


# --- the two commands --------------------------------------------------------------------------


def agent_actor(agent: PaymentAgent) -> Actor:
    return agent_actor_for_code(agent.code)


def agent_actor_for_code(code: str) -> Actor:
    return Actor(f"agent:{code}", "agent")


def _within_limits(agent: PaymentAgent, amount_minor: int) -> None:
    if amount_minor < agent.min_sum_minor:
        raise AmountBelowMinimum(
            f"sum {format_plain(amount_minor)} is below this agent's minimum "
            f"{format_plain(agent.min_sum_minor)}"
        )
    if amount_minor > agent.max_sum_minor:
        raise AmountAboveMaximum(
            f"sum {format_plain(amount_minor)} is above this agent's maximum "
            f"{format_plain(agent.max_sum_minor)}"
        )


@dataclass(frozen=True, slots=True)
class Target:
    """The account a request names, looked up together with the agent (one round trip)."""

    account: Account | None
    balance: AccountBalance | None = None
    error: AbonentError | None = None
    """Why there is no account: a malformed number (result 4) or an unknown one (5)."""

    def require(self) -> Account:
        if self.account is None:
            raise self.error or AccountNotFound("no account")
        return self.account


async def load(
    session: AsyncSession, code: str, raw_account: str | None
) -> tuple[PaymentAgent | None, Target]:
    """The agent called ``code`` and the account ``raw_account`` names, in one query.

    Authentication happens on the result before anything about the account is used.
    """
    number = None
    error: AbonentError | None = None
    if raw_account is not None:
        try:
            number = accounts.parse_number(raw_account)
        except InvalidInput as exc:
            error = exc
    if number is None:
        return await agents.find_agent(session, code), Target(None, error=error)
    row = await agents.find_with_account(session, code, number)
    if row is None:
        return None, Target(None, error=AccountNotFound(f"no account {number}"))
    agent, account, balance = row
    if account is None:
        return agent, Target(None, error=AccountNotFound(f"no account {number}"))
    return agent, Target(account, balance)


async def check(
    session: AsyncSession, agent: PaymentAgent, req: OsmpRequest, target: Target
) -> Answer:
    """Would ``pay`` with these parameters be accepted now? Books nothing, writes nothing."""
    account = target.require()
    debt = target.balance.debt_minor if target.balance is not None else 0
    _within_limits(agent, req.amount_minor)
    payments.check_payable(account, debt, req.amount_minor, req.currency or account.currency)
    fields: list[tuple[str, str]] = []
    if agent.disclosure == "masked":
        name = mask_name(await accounts.holder_name(session, account))
        fields = [("fio", name), ("debt", format_plain(debt))]
    return Answer(Result.OK, "OK", txn_id=req.txn_id, amount_minor=req.amount_minor, fields=fields)


async def pay(
    session: AsyncSession, agent: PaymentAgent, req: OsmpRequest, target: Target
) -> payments.Booked:
    """Book the payment (or find it booked by an earlier try of the same txn_id)."""
    source = sources.osmp(agent.code)
    if target.account is None:
        # A txn_id we already booked, now for an account we cannot even find, is the same
        # txn_id with another account: a mismatch, not a plain 4 or 5.
        await _refuse_if_booked(session, source, req.txn_id)
    account = target.require()
    # A retry of a payment booked before the limits changed is still answered as a replay;
    # only the refusal path pays for this lookup.
    outside = not agent.min_sum_minor <= req.amount_minor <= agent.max_sum_minor
    if outside and await payments.find(session, source, req.txn_id) is None:
        _within_limits(agent, req.amount_minor)
    return await payments.book_payment(
        session,
        payments.PaymentRequest(
            account=account,
            amount_minor=req.amount_minor,
            method="agent",
            source=source,
            source_txn_id=req.txn_id,
            actor=agent_actor(agent),
            currency=req.currency or account.currency,
            txn_date=req.txn_date,
            agent_id=agent.id,
        ),
    )


async def pay_once(connection: Any, agent: agents.AgentCopy, req: OsmpRequest) -> Answer | None:
    """``pay`` in one statement (PostgreSQL; ``connection`` has no transaction open), for the
    agent as copied and authorised from its copy. None: the general path (:func:`pay` in a unit
    of work) decides, which it does for every refusal and for an agent whose row changed.
    """
    try:
        number = accounts.parse_number(req.account)
    except InvalidInput:
        return None
    if not agent.min_sum_minor <= req.amount_minor <= agent.max_sum_minor:
        return None
    once = await payments_once.book_once(
        connection,
        payments_once.OnceRequest(
            number=number,
            amount_minor=req.amount_minor,
            method="agent",
            source=sources.osmp(agent.code),
            source_txn_id=req.txn_id,
            actor=agent_actor_for_code(agent.code),
            currency=req.currency or DEFAULT_CURRENCY,
            txn_date=req.txn_date,
            agent_id=agent.id,
            agent_digest=agent.digest,
        ),
    )
    if once.outcome == "agent":
        agents.forget_copy(agent.code)
        return None
    if once.outcome == "fallback":
        return None
    return Answer(
        Result.OK,
        "OK" if once.outcome == "booked" else "OK (already booked)",
        txn_id=req.txn_id,
        prv_txn=once.payment_id,
        amount_minor=once.amount_minor,
    )


async def _refuse_if_booked(session: AsyncSession, source: str, txn_id: str) -> None:
    existing = await payments.find(session, source, txn_id)
    if existing is not None:
        raise DuplicateMismatch(
            f"transaction {txn_id} was already booked with another account or amount",
            payment_id=existing.id,
        )


# --- refusals ----------------------------------------------------------------------------------

_ACCOUNT_FORMAT_CODES = ("account_number_format", "account_number_check_digit")


def result_for(exc: AbonentError) -> Result:
    """The result code for a domain refusal. Order matters: subclasses before their bases."""
    if isinstance(exc, AccountNotFound):
        return Result.ACCOUNT_NOT_FOUND
    if isinstance(exc, AmountBelowMinimum):
        return Result.AMOUNT_TOO_SMALL
    if isinstance(exc, AmountAboveMaximum):
        return Result.AMOUNT_TOO_LARGE
    if isinstance(exc, AccountNotPayable):
        return Result.ACCOUNT_NOT_ACTIVE
    if isinstance(exc, DuplicateMismatch):
        # The agent reused a txn_id: a protocol error on its side, not a refusal of the payer.
        return Result.OTHER
    if isinstance(exc, PaymentRefused):
        return Result.REFUSED
    if isinstance(exc, AmountInvalid) and exc.code == "currency_mismatch":
        return Result.REFUSED
    if isinstance(exc, InvalidInput) and exc.code in _ACCOUNT_FORMAT_CODES:
        return Result.ACCOUNT_FORMAT
    if isinstance(exc, Unavailable):
        return Result.TEMPORARY
    if isinstance(exc, BusinessRuleViolation):
        return Result.REFUSED
    return Result.OTHER


# --- the answer --------------------------------------------------------------------------------

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def render(answer: Answer) -> bytes:
    parts = [
        _DECLARATION,
        "<response>",
        _element("osmp_txn_id", answer.txn_id),
        _element("prv_txn", "" if answer.prv_txn is None else str(answer.prv_txn)),
        _element("sum", "" if answer.amount_minor is None else format_plain(answer.amount_minor)),
        _element("result", str(int(answer.result))),
        _element("comment", answer.comment[:255]),
    ]
    if answer.fields:
        parts.append("<fields>")
        for index, (name, value) in enumerate(answer.fields, start=1):
            parts.append(
                f"<field{index} name={quoteattr(name)}>{escape(_xml_safe(value))}</field{index}>"
            )
        parts.append("</fields>")
    parts.append("</response>\n")
    return "".join(parts).encode("utf-8")


def _element(name: str, text: str) -> str:
    if not text:
        return f"<{name}/>"
    if _NEEDS_WORK.search(text) is None:
        # Digits and plain words (every OK answer): nothing to escape or replace. Measured:
        # escape() and the substitution cost more than rendering the rest of the answer.
        return f"<{name}>{text}</{name}>"
    return f"<{name}>{escape(_xml_safe(text))}</{name}>"


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# What escape() or _xml_safe() would change: without any of these a text goes out as it is.
_NEEDS_WORK = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    """Echoed agent input may hold characters XML 1.0 cannot carry at all."""
    return _XML_INVALID.sub("?", text)
