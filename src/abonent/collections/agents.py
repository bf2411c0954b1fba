"""The agency as a payment agent: its registry brings what it collected, and its commission.

What an agency collects is the subscriber's payment like any other (booked through its registry
or its OSMP calls, reducing the debt); the agency's commission is the operator's cost, so it is
reported here and never posted to the subscriber's account. Only a payment on an account the
agency held at the time earns commission: money it happens to pass on for other accounts is
still booked, and listed apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.collections import repository as repo
from abonent.collections.errors import AgencyInvalid, AgencyNotFound
from abonent.collections.roles import require
from abonent.config import get_settings
from abonent.kit.actor import Actor
from abonent.kit.errors import Conflict, InvalidInput
from abonent.models import CollectionAgency, CollectionAssignment
from abonent.payments.agents import service as agents

MAX_REPORT_DAYS = 366
_EARLIEST = dt.date(2000, 1, 1)
_LATEST = dt.date(2100, 12, 31)


class AgentTaken(Conflict):
    default_code = "agency_agent_taken"


@dataclass(frozen=True, slots=True)
class CollectedLine:
    payment_id: int
    account_number: str
    booked_on: dt.date
    amount_minor: int
    in_portfolio: bool
    """The agency held the account's debt on that day (an active assignment)."""
    commission_minor: int


@dataclass(frozen=True, slots=True)
class CommissionReport:
    agency: CollectionAgency
    start: dt.date
    end: dt.date
    """Inclusive."""
    lines: list[CollectedLine]
    collected_minor: int
    """In the portfolio: what the commission is on."""
    outside_minor: int
    """Booked through the agency for accounts it did not hold."""
    commission_minor: int


async def link_agent(
    session: AsyncSession, agency_id: int, agent_code: str, *, actor: Actor
) -> CollectionAgency:
    """Make the payment agent ``agent_code`` the agency's own (kind 'collection')."""
    require(actor, "agency.manage")
    agency = await session.get(CollectionAgency, agency_id)
    if agency is None:
        raise AgencyNotFound(f"no agency {agency_id}")
    agent = await agents.get_agent(session, agent_code)
    other = await repo.agency_of_agent(session, agent.id)
    if other is not None and other.id != agency.id:
        raise AgentTaken(f"agent {agent_code} already brings the payments of agency {other.id}")
    if agent.kind == "payment" and await repo.agent_has_payments(session, agent.id):
        raise AgencyInvalid(
            f"agent {agent_code} already books payments as a bank or terminal; create a "
            "separate agent for the agency",
            code="agency_agent_in_use",
        )
    await agents.set_kind(session, agent_code, "collection", actor=actor)
    agency.agent_id = agent.id
    record(
        session,
        actor,
        "agency.agent",
        object_type="agency",
        object_id=agency.id,
        agent=agent_code,
    )
    await session.flush()
    return agency


def _held(assignments: list[CollectionAssignment], account_id: int, day: dt.date) -> bool:
    return any(
        a.account_id == account_id
        and a.handed_over_on <= day
        and (a.recalled_on is None or day < a.recalled_on)
        for a in assignments
    )


async def commission_report(
    session: AsyncSession, agency_id: int, start: dt.date, end: dt.date, *, actor: Actor
) -> CommissionReport:
    """What the agency collected from ``start`` to ``end`` (inclusive, the operator's days) and
    its commission at the agency's rate, rounded half up to the kopeck per payment."""
    require(actor, "collections.read")
    if not (_EARLIEST <= start <= _LATEST and _EARLIEST <= end <= _LATEST):
        raise InvalidInput("the period lies outside 2000–2100", code="period_invalid")
    if end < start:
        raise InvalidInput("the period ends before it starts", code="period_invalid")
    if (end - start).days >= MAX_REPORT_DAYS:
        raise InvalidInput(
            f"a report covers at most {MAX_REPORT_DAYS} days", code="period_too_long"
        )
    agency = await session.get(CollectionAgency, agency_id)
    if agency is None:
        raise AgencyNotFound(f"no agency {agency_id}")
    if agency.agent_id is None:
        raise AgencyInvalid(
            f"agency {agency_id} has no payment agent (abonent agency link-agent)",
            code="agency_no_agent",
        )
    zone = ZoneInfo(get_settings().timezone)
    since = dt.datetime.combine(start, dt.time(), zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
    rows = [(p, n) for p, n in await repo.collected(session, agency.agent_id, since, until)]
    rows = [(p, n) for p, n in rows if p.status != "reversed"]
    held = list(await repo.assignments(session, agency.id, [p.account_id for p, _ in rows]))
    lines: list[CollectedLine] = []
    for payment, number in rows:
        day = payment.created_at.astimezone(zone).date()
        inside = _held(held, payment.account_id, day)
        fee = (payment.amount_minor * agency.commission_bp + 5_000) // 10_000 if inside else 0
        lines.append(CollectedLine(payment.id, number, day, payment.amount_minor, inside, fee))
    return CommissionReport(
        agency=agency,
        start=start,
        end=end,
        lines=lines,
        collected_minor=sum(x.amount_minor for x in lines if x.in_portfolio),
        outside_minor=sum(x.amount_minor for x in lines if not x.in_portfolio),
        commission_minor=sum(x.commission_minor for x in lines),
    )
