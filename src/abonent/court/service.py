"""The court stage of a debt: the court-order package, and its stages as recorded by hand.

A package is built once per application: its calculation is kept as a snapshot, so that the
draft prints the same on any later day, whatever was paid since (the court is told of payments
by the creditor, not by a changed draft). One live case per account at a time: a second
application while one is with the court would claim the same charges twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.court import repository as repo
from abonent.court.calculation import COURT_ROLES, Claim, ClaimLine, calculate
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from abonent.models import Account, CourtCase, CourtCaseLine, CourtStageEvent

STAGES = (
    "prepared",
    "filed",
    "order_issued",
    "cancelled",
    "enforced",
    "refused",
    "withdrawn",
)
# What may follow what (CPC ch. 11): a filed application ends in an order or a refusal; an
# order is cancelled on the debtor's objection (art. 129) or goes to the bailiffs.
NEXT: dict[str, frozenset[str]] = {
    "prepared": frozenset({"filed", "withdrawn"}),
    "filed": frozenset({"order_issued", "refused", "withdrawn"}),
    "order_issued": frozenset({"cancelled", "enforced"}),
}
LIVE = frozenset(NEXT)
STAGE_LABELS = {
    "prepared": "пакет подготовлен",
    "filed": "заявление подано",
    "order_issued": "судебный приказ вынесен",
    "cancelled": "судебный приказ отменён",
    "enforced": "передан на исполнение",
    "refused": "в выдаче приказа отказано",
    "withdrawn": "заявление отозвано",
}
_NOTE_MAX = 500


class CaseNotFound(NotFound):
    default_code = "court_case_not_found"


class CaseOpen(Conflict):
    default_code = "court_case_open"


class StageNotAllowed(Conflict):
    default_code = "court_stage_not_allowed"


@dataclass(frozen=True, slots=True)
class CaseView:
    case: CourtCase
    lines: Sequence[CourtCaseLine]
    stages: Sequence[CourtStageEvent]


def _require_role(actor: Actor) -> None:
    if actor.role not in COURT_ROLES:
        raise Forbidden(f"the role {actor.role!r} may not prepare court documents")


def _line(case_id: int, line: ClaimLine, part: str) -> CourtCaseLine:
    return CourtCaseLine(
        case_id=case_id,
        open_item_id=line.item_id,
        period=line.period,
        service=line.service,
        due_date=line.due_date,
        amount_minor=line.amount_minor,
        paid_minor=line.paid_minor,
        owed_minor=line.remaining_minor,
        part=part,
    )


async def build_package(
    session: AsyncSession, account: Account, *, actor: Actor, as_of: dt.date
) -> CourtCase:
    """A new case for the account's debt as of the application date, its calculation kept."""
    _require_role(actor)
    live = await repo.open_case(session, account.id, LIVE)
    if live is not None:
        raise CaseOpen(
            f"case {live.id} of this account is {STAGE_LABELS[live.stage]}; record its outcome "
            "before a new application",
            case_id=live.id,
            stage=live.stage,
        )
    claim: Claim = await calculate(session, account, actor=actor, as_of=as_of)
    now = clock.now()
    case = CourtCase(
        account_id=account.id,
        stage="prepared",
        as_of=as_of,
        claim_minor=claim.claim_minor,
        fee_minor=claim.fee_minor,
        time_barred_minor=sum(line.remaining_minor for line in claim.time_barred),
        created_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    await session.flush()
    session.add_all(
        [_line(case.id, line, "claimed") for line in claim.lines]
        + [_line(case.id, line, "time_barred") for line in claim.time_barred]
        + [_line(case.id, line, "disputed") for line in claim.disputed]
    )
    session.add(
        CourtStageEvent(
            case_id=case.id, stage="prepared", on=as_of, note="", actor=actor.name, created_at=now
        )
    )
    record(
        session,
        actor,
        "court.package",
        object_type="court_case",
        object_id=case.id,
        account_id=account.id,
        claim_minor=claim.claim_minor,
        fee_minor=claim.fee_minor,
    )
    await session.flush()
    return case


async def view(session: AsyncSession, case_id: int, *, actor: Actor) -> CaseView:
    _require_role(actor)
    case = await repo.case(session, case_id)
    if case is None:
        raise CaseNotFound(f"no court case {case_id}")
    return CaseView(case, await repo.lines(session, case_id), await repo.stages(session, case_id))


async def cases_of(session: AsyncSession, account: Account, *, actor: Actor) -> Sequence[CourtCase]:
    _require_role(actor)
    return await repo.cases_of(session, account.id)


async def list_cases(
    session: AsyncSession, *, actor: Actor, stage: str | None = None, limit: int = 100
) -> Sequence[CourtCase]:
    _require_role(actor)
    if stage is not None and stage not in STAGES:
        raise InvalidInput(f"unknown stage {stage!r}", code="court_stage_unknown")
    return await repo.cases(session, stage, limit)


async def record_stage(
    session: AsyncSession,
    case_id: int,
    stage: str,
    *,
    actor: Actor,
    on: dt.date,
    note: str = "",
) -> CourtCase:
    """Record by hand what the court did; only a stage that can follow the current one."""
    _require_role(actor)
    if stage not in STAGES:
        raise InvalidInput(
            f"unknown stage {stage!r}; one of {', '.join(STAGES[1:])}", code="court_stage_unknown"
        )
    note = note.strip()
    if len(note) > _NOTE_MAX or any(ord(c) < 32 for c in note):
        raise InvalidInput(
            f"a note is one line of at most {_NOTE_MAX} characters", code="court_note_invalid"
        )
    case = await repo.case(session, case_id, lock=True)
    if case is None:
        raise CaseNotFound(f"no court case {case_id}")
    allowed = NEXT.get(case.stage, frozenset())
    if stage not in allowed:
        raise StageNotAllowed(
            f"case {case.id} is {STAGE_LABELS[case.stage]}; next may be "
            + (", ".join(sorted(allowed)) or "nothing: the case is closed"),
            stage=case.stage,
        )
    if on < case.as_of:
        raise InvalidInput("a stage cannot precede the application date", code="court_stage_date")
    now = clock.now()
    case.stage = stage
    case.updated_at = now
    session.add(
        CourtStageEvent(
            case_id=case.id, stage=stage, on=on, note=note, actor=actor.name, created_at=now
        )
    )
    record(
        session,
        actor,
        f"court.{stage}",
        object_type="court_case",
        object_id=case.id,
        account_id=case.account_id,
        note=note or None,
    )
    await session.flush()
    return case


async def account_number(session: AsyncSession, case: CourtCase) -> str:
    account = await session.get_one(Account, case.account_id)
    return account.number
