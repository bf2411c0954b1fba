"""The claim's calculation from the ledger: per charge, with the time-barred ones apart.

Each open debit item is a line (period, service, amount, paid, remaining). A charge whose
3-year limitation ended before the application date is listed separately and left out of the
claim sum (Civil Code art. 196, 200); the court can refuse it on the debtor's plea.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.config import get_settings
from abonent.court import repository as repo
from abonent.court.fee import order_fee_minor
from abonent.court.limitation import limitation_ends
from abonent.disputes import repository as disputes
from abonent.kit.actor import Actor
from abonent.kit.errors import BusinessRuleViolation, Forbidden
from abonent.models import Account

COURT_ROLES = frozenset({"collections", "supervisor", "admin"})


@dataclass(frozen=True, slots=True)
class ClaimLine:
    item_id: int
    period: str | None
    service: str
    due_date: dt.date
    amount_minor: int
    paid_minor: int
    remaining_minor: int
    limitation_ends: dt.date


@dataclass(frozen=True, slots=True)
class Claim:
    account_number: str
    as_of: dt.date
    lines: list[ClaimLine]
    """Within the limitation: what is claimed."""
    time_barred: list[ClaimLine]
    """Past the 3-year limitation: listed apart, left out of the claim."""
    disputed: list[ClaimLine]
    """Under an open dispute: still owed, not claimed while the dispute is being answered."""
    claim_minor: int
    fee_minor: int


async def calculate(
    session: AsyncSession, account: Account, *, actor: Actor, as_of: dt.date
) -> Claim:
    """The court-order claim for the account as of the application date. Refused unless the
    debt went through the agency stage and that stage is over (no open charge of the account is
    still with an agency: its assignment recalled, or the charge paid), when nothing within the
    limitation is owed, and above the court-order limit (the fee rule refuses it with the
    reason)."""
    if actor.role not in COURT_ROLES:
        raise Forbidden(f"the role {actor.role!r} may not prepare court documents")
    if not await repo.went_through_agency(session, account.id):
        raise BusinessRuleViolation(
            "the debt has not been through the agency stage", code="court_needs_agency_stage"
        )
    held = await repo.assignments_holding_debt(session, account.id)
    if held:
        # The agency stage is over only when the agency holds none of the debt: claiming in
        # court what an agency is still collecting would pursue the debtor twice for it.
        raise BusinessRuleViolation(
            "Долг ещё у коллекторского агентства (передача "
            + ", ".join(f"№ {a}" for a in held)
            + "): отзовите его, прежде чем готовить заявление в суд.",
            code="court_agency_stage_active",
            assignment_ids=held,
        )
    years = get_settings().court.limitation_years
    rows = await repo.open_debits(session, account.id)
    under_dispute = await disputes.disputed_open_item_ids(session, [account.id])
    lines: list[ClaimLine] = []
    barred: list[ClaimLine] = []
    disputed: list[ClaimLine] = []
    for item, kind in rows:
        if item.due_date >= as_of:
            # Not yet due on the application date: owed, but not a debt a court can order paid.
            continue
        ends = limitation_ends(item.due_date, years)
        line = ClaimLine(
            item_id=item.id,
            period=item.period,
            service=kind or "account",
            due_date=item.due_date,
            amount_minor=item.amount_minor,
            paid_minor=item.amount_minor - item.remaining_minor,
            remaining_minor=item.remaining_minor,
            limitation_ends=ends,
        )
        if item.id in under_dispute:
            disputed.append(line)
        else:
            (barred if as_of > ends else lines).append(line)
    claim = sum(line.remaining_minor for line in lines)
    if claim <= 0:
        raise BusinessRuleViolation(
            "nothing within the limitation is owed", code="court_nothing_to_claim"
        )
    return Claim(account.number, as_of, lines, barred, disputed, claim, order_fee_minor(claim))
