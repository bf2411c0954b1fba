"""Reconciling an agent's daily registry against the payments booked for that agent.

Each registry line is looked up by the agent's txn_id in the agent's namespace
(source ``osmp:<code>``, the one the OSMP endpoint books under), whatever its date; the
registry's date span (or the day given) only decides which of our payments the agent should
have listed, so that a payment booked here and absent from the registry is found.

Nothing is booked unless asked (``book_missing``); then each line missing here is booked through
:func:`abonent.payments.service.book_payment` under the same source and txn_id, so a later OSMP
retry of that txn_id is recognised as the same payment and books nothing. Every run is stored
(``registry_imports`` + ``registry_lines``) and audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import repository as accounts_repo
from abonent.accounts.service import parse_number
from abonent.audit.service import record
from abonent.config import get_settings
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import AbonentError
from abonent.kit.money import format_money
from abonent.models import Account, Payment, PaymentAgent, RegistryImport
from abonent.models import RegistryLine as LineRow
from abonent.payments import sources
from abonent.payments.agents.service import code_of as agent_code_of
from abonent.payments.agents.service import get_agent
from abonent.payments.registry import formats, parser
from abonent.payments.registry import repository as repo
from abonent.payments.registry.errors import (
    RegistryNotFound,
    RegistryOptionsInvalid,
)
from abonent.payments.service import PaymentRequest, book_payment, check_payable

MATCHED = "matched"
BOOKED = "booked"
MISSING_HERE = "missing_here"
AMOUNT_MISMATCH = "amount_mismatch"
ACCOUNT_MISMATCH = "account_mismatch"
STATUS_MISMATCH = "status_mismatch"
UNKNOWN_TO_AGENT = "unknown_to_agent"
OUTCOMES = (
    MATCHED,
    BOOKED,
    MISSING_HERE,
    AMOUNT_MISMATCH,
    ACCOUNT_MISMATCH,
    STATUS_MISMATCH,
    UNKNOWN_TO_AGENT,
)
RESOLVED = frozenset({MATCHED, BOOKED})
"""Outcomes that leave nothing to do: anything else is a difference for a human."""
METHOD = "registry"
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    """One line of the report: a registry line, or one of our payments the agent did not list."""

    outcome: str
    txn_id: str
    line_no: int | None
    txn_date: dt.datetime | None
    account_number: str | None
    """As the agent gives it."""
    our_account_number: str | None
    agent_amount_minor: int | None
    our_amount_minor: int | None
    payment_id: int | None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    count: int = 0
    agent_minor: int = 0
    our_minor: int = 0


@dataclass(slots=True)
class Result:
    import_id: int
    agent_code: str
    file_name: str
    file_sha256: str
    date_from: dt.date
    date_to: dt.date
    book_missing: bool
    actor: str
    created_at: dt.datetime
    registry_lines: int
    lines: list[Outcome]
    earlier_runs: list[int] = field(default_factory=list)
    """Ids of earlier imports of the same file for the same agent."""

    def totals(self) -> dict[str, Totals]:
        out = {name: Totals() for name in OUTCOMES}
        for line in self.lines:
            t = out[line.outcome]
            out[line.outcome] = Totals(
                t.count + 1,
                t.agent_minor + (line.agent_amount_minor or 0),
                t.our_minor + (line.our_amount_minor or 0),
            )
        return out

    @property
    def differences(self) -> list[Outcome]:
        return [line for line in self.lines if line.outcome != MATCHED]

    @property
    def clean(self) -> bool:
        """True when every line is matched or was booked by this run."""
        return all(line.outcome in RESOLVED for line in self.lines)


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def import_registry(
    session: AsyncSession,
    *,
    agent_code: str,
    file_name: str,
    data: bytes,
    options: parser.Options | None = None,
    given: Mapping[str, Any] | None = None,
    actor: Actor,
    book_missing: bool = False,
    on_date: dt.date | None = None,
) -> Result:
    """Parse, validate and reconcile one registry; store and audit the result.

    ``options``: the file's layout; None takes the agent's saved format (else the defaults).
    ``given``: options set for this run only, over either.

    Raises before writing anything when the agent is unknown, the options make no sense, or any
    line is bad (:class:`RegistryInvalid` names every bad line).
    """
    agent = await get_agent(session, agent_code)
    if options is None:
        options = await formats.effective(session, agent, given or {})
    elif given:
        options = replace(options, **given)
    parser.check_options(options, have_date=on_date is not None)
    tz = get_settings().timezone
    parsed = parser.parse(data, options, tz=tz)
    parser.refuse_if_bad(parsed)
    date_from, date_to = _span(parsed.lines, on_date, tz)
    source = sources.osmp(agent.code)

    ours = await _payments_by_txn(session, source, [line.txn_id for line in parsed.lines])
    outcomes = [
        await _classify(session, agent, line, ours.get(line.txn_id)) for line in parsed.lines
    ]
    listed = {line.txn_id for line in parsed.lines}
    unknown = [
        _unknown(payment, number, source)
        for payment, number in await _payments_in_span(session, agent, date_from, date_to, tz)
        if not (payment.source == source and payment.source_txn_id in listed)
    ]

    now = clock.now()
    digest = file_digest(data)
    imported = RegistryImport(
        agent_id=agent.id,
        file_name=file_name[:255],
        file_sha256=digest,
        registry_date=date_from,
        summary={},
        actor=actor.name[:128],
        created_at=now,
    )
    session.add(imported)
    await session.flush()

    if book_missing:
        by_no = {line.line_no: line for line in parsed.lines}
        for i, outcome in enumerate(outcomes):
            if outcome.outcome == MISSING_HERE and outcome.note is None:
                assert outcome.line_no is not None
                outcomes[i] = await _book(
                    session, agent, by_no[outcome.line_no], imported, file_name, actor
                )

    lines = outcomes + unknown
    result = Result(
        import_id=imported.id,
        agent_code=agent.code,
        file_name=imported.file_name,
        file_sha256=digest,
        date_from=date_from,
        date_to=date_to,
        book_missing=book_missing,
        actor=imported.actor,
        created_at=now,
        registry_lines=len(parsed.lines),
        lines=lines,
        earlier_runs=await _earlier_runs(session, agent.id, digest, imported.id),
    )
    imported.summary = _summary(result, options)
    session.add_all(_row(imported.id, line) for line in lines)
    await session.flush()
    record(
        session,
        actor,
        "registry.import",
        object_type="registry",
        object_id=imported.id,
        agent=agent.code,
        file_name=imported.file_name,
        file_sha256=digest,
        book_missing=book_missing,
        outcomes=imported.summary["outcomes"],
    )
    return result


async def load_import(session: AsyncSession, import_id: int) -> Result:
    row = await repo.get_import(session, import_id)
    if row is None:
        raise RegistryNotFound(f"no registry import {import_id}")
    code = await agent_code_of(session, row.agent_id)
    stored = await repo.lines_of(session, row.id)
    summary = row.summary
    return Result(
        import_id=row.id,
        agent_code=code or "?",
        file_name=row.file_name,
        file_sha256=row.file_sha256,
        date_from=dt.date.fromisoformat(summary["date_from"]),
        date_to=dt.date.fromisoformat(summary["date_to"]),
        book_missing=bool(summary["book_missing"]),
        actor=row.actor,
        created_at=row.created_at,
        registry_lines=int(summary["registry_lines"]),
        lines=[
            Outcome(
                outcome=r.outcome,
                txn_id=r.txn_id,
                line_no=r.line_no,
                txn_date=r.txn_date,
                account_number=r.account_number,
                our_account_number=r.our_account_number,
                agent_amount_minor=r.agent_amount_minor,
                our_amount_minor=r.our_amount_minor,
                payment_id=r.payment_id,
                note=r.note,
            )
            for r in stored
        ],
        earlier_runs=await _earlier_runs(session, row.agent_id, row.file_sha256, row.id),
    )


async def list_imports(
    session: AsyncSession, *, agent_code: str | None = None, limit: int = 20
) -> Sequence[tuple[RegistryImport, str]]:
    agent_id = None
    if agent_code is not None:
        agent_id = (await get_agent(session, agent_code)).id
    return await repo.imports_page(session, agent_id=agent_id, limit=limit)


# --- reconciliation ------------------------------------------------------------------------


def _span(
    lines: Sequence[parser.Line], on_date: dt.date | None, tz: str
) -> tuple[dt.date, dt.date]:
    if on_date is not None:
        return on_date, on_date
    zone = ZoneInfo(tz)
    days = [line.txn_date.astimezone(zone).date() for line in lines if line.txn_date]
    if not days:
        raise RegistryOptionsInvalid(
            "the registry has no lines: give --date to reconcile an empty day",
            code="registry_empty",
        )
    return min(days), max(days)


async def _payments_by_txn(
    session: AsyncSession, source: str, txn_ids: Sequence[str]
) -> dict[str, tuple[Payment, str]]:
    found: dict[str, tuple[Payment, str]] = {}
    for start in range(0, len(txn_ids), _CHUNK):
        chunk = txn_ids[start : start + _CHUNK]
        for payment, number in await repo.payments_by_txn(session, source, chunk):
            found[payment.source_txn_id] = (payment, number)
    return found


async def _payments_in_span(
    session: AsyncSession, agent: PaymentAgent, date_from: dt.date, date_to: dt.date, tz: str
) -> list[tuple[Payment, str]]:
    """Our succeeded payments from this agent whose payer's date falls in the span (local)."""
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(date_from, dt.time(), zone)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), zone)
    return await repo.agent_payments_between(
        session,
        agent_id=agent.id,
        source=sources.osmp(agent.code),
        start=start.astimezone(dt.UTC),
        end=end.astimezone(dt.UTC),
    )


async def _classify(
    session: AsyncSession,
    agent: PaymentAgent,
    line: parser.Line,
    ours: tuple[Payment, str] | None,
) -> Outcome:
    if ours is None:
        return Outcome(
            outcome=MISSING_HERE,
            txn_id=line.txn_id,
            line_no=line.line_no,
            txn_date=line.txn_date,
            account_number=line.account,
            our_account_number=None,
            agent_amount_minor=line.amount_minor,
            our_amount_minor=None,
            payment_id=None,
            note=await _why_not_bookable(session, agent, line),
        )
    payment, number = ours
    outcome, note = MATCHED, None
    if payment.status != "succeeded":
        outcome = STATUS_MISMATCH
        note = f"payment {payment.id} is {payment.status} here"
        if payment.reversal_reason:
            note += f": {payment.reversal_reason}"
    elif number != line.account:
        outcome = ACCOUNT_MISMATCH
        note = f"booked here on account {number}"
        if payment.amount_minor != line.amount_minor:
            note += ", and for another amount"
    elif payment.amount_minor != line.amount_minor:
        outcome = AMOUNT_MISMATCH
        note = f"differs by {format_money(line.amount_minor - payment.amount_minor)}".replace(
            "\u00a0", " "
        )
    return Outcome(
        outcome=outcome,
        txn_id=line.txn_id,
        line_no=line.line_no,
        txn_date=line.txn_date,
        account_number=line.account,
        our_account_number=number,
        agent_amount_minor=line.amount_minor,
        our_amount_minor=payment.amount_minor,
        payment_id=payment.id,
        note=note,
    )


def _unknown(payment: Payment, number: str, source: str) -> Outcome:
    return Outcome(
        outcome=UNKNOWN_TO_AGENT,
        txn_id=payment.source_txn_id,
        line_no=None,
        txn_date=payment.txn_date or payment.created_at,
        account_number=None,
        our_account_number=number,
        agent_amount_minor=None,
        our_amount_minor=payment.amount_minor,
        payment_id=payment.id,
        note=None if payment.source == source else f"booked here under source {payment.source}",
    )


async def _why_not_bookable(
    session: AsyncSession, agent: PaymentAgent, line: parser.Line
) -> str | None:
    """Why this missing line could not be booked, or None if booking it would be accepted now.

    Asked in a dry run too, so that the operator sees what --book-missing would leave behind.
    """
    account, note = await _account_for(session, line)
    if account is None:
        return note
    if not agent.min_sum_minor <= line.amount_minor <= agent.max_sum_minor:
        return (
            "cannot be booked: outside the agent's limits "
            f"{format_money(agent.min_sum_minor)}–{format_money(agent.max_sum_minor)}; "
            "book it by hand if the agent confirms"
        ).replace("\u00a0", " ")
    balance = await accounts_repo.balance(session, account.id)
    try:
        check_payable(
            account, balance.debt_minor if balance else 0, line.amount_minor, account.currency
        )
    except AbonentError as exc:
        return f"cannot be booked: {exc.detail}"
    return None


async def _account_for(
    session: AsyncSession, line: parser.Line
) -> tuple[Account | None, str | None]:
    try:
        number = parse_number(line.account)
    except AbonentError as exc:
        return None, f"cannot be booked: account {line.account}: {exc.detail}"
    account = await accounts_repo.by_number(session, number)
    if account is None:
        return None, f"cannot be booked: no account {number}"
    return account, None


async def _book(
    session: AsyncSession,
    agent: PaymentAgent,
    line: parser.Line,
    imported: RegistryImport,
    file_name: str,
    actor: Actor,
) -> Outcome:
    missing = Outcome(
        outcome=MISSING_HERE,
        txn_id=line.txn_id,
        line_no=line.line_no,
        txn_date=line.txn_date,
        account_number=line.account,
        our_account_number=None,
        agent_amount_minor=line.amount_minor,
        our_amount_minor=None,
        payment_id=None,
    )
    account, note = await _account_for(session, line)
    if account is None:
        return replace(missing, note=note)
    request = PaymentRequest(
        account=account,
        amount_minor=line.amount_minor,
        # As OSMP books it, so that the fingerprint of a later OSMP retry is the same.
        currency=account.currency,
        method=METHOD,
        source=sources.osmp(agent.code),
        source_txn_id=line.txn_id,
        actor=actor,
        txn_date=line.txn_date,
        comment=f"from registry #{imported.id} ({file_name}), line {line.line_no}",
        agent_id=agent.id,
    )
    try:
        # A refusal (closed account, …) must leave nothing behind for the other lines' sake.
        async with session.begin_nested():
            booked = await book_payment(session, request)
    except AbonentError as exc:
        return replace(missing, note=f"not booked: {exc.detail}")
    payment = booked.payment
    return Outcome(
        outcome=BOOKED if booked.created else MATCHED,
        txn_id=line.txn_id,
        line_no=line.line_no,
        txn_date=line.txn_date,
        account_number=line.account,
        our_account_number=account.number,
        agent_amount_minor=line.amount_minor,
        our_amount_minor=payment.amount_minor,
        payment_id=payment.id,
        note=None if booked.created else f"booked meanwhile as payment {payment.id}",
    )


async def _earlier_runs(
    session: AsyncSession, agent_id: int, digest: str, before_id: int
) -> list[int]:
    return await repo.earlier_imports(session, agent_id, digest, before_id)


def _summary(result: Result, options: parser.Options) -> dict[str, Any]:
    return {
        "date_from": result.date_from.isoformat(),
        "date_to": result.date_to.isoformat(),
        "book_missing": result.book_missing,
        "registry_lines": result.registry_lines,
        "clean": result.clean,
        "outcomes": {
            name: {"count": t.count, "agent_minor": t.agent_minor, "our_minor": t.our_minor}
            for name, t in result.totals().items()
            if t.count
        },
        "options": parser.options_to_dict(options),
    }


def _row(import_id: int, line: Outcome) -> LineRow:
    return LineRow(
        registry_id=import_id,
        outcome=line.outcome,
        line_no=line.line_no,
        txn_id=line.txn_id,
        txn_date=line.txn_date,
        account_number=line.account_number,
        our_account_number=line.our_account_number,
        agent_amount_minor=line.agent_amount_minor,
        our_amount_minor=line.our_amount_minor,
        payment_id=line.payment_id,
        note=line.note[:255] if line.note else None,
    )
