"""Claims against charges: filing, assignment, resolution, evidence. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit import service as audit
from abonent.config import get_settings
from abonent.disputes import cases, rules
from abonent.disputes import repository as repo
from abonent.disputes.errors import (
    ClaimTooLate,
    DisputeClosed,
    DisputeInvalid,
    DisputeNotFound,
    ItemAlreadyDisputed,
)
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.ledger import dispute_credit
from abonent.ledger.chart import DEBIT
from abonent.models import Account, Dispute, DisputeEvidence, DisputeItem, OpenItem
from abonent.models.disputes import OPEN_STATUSES
from abonent.sms import templates

CHANNELS = ("desk", "cabinet")
MAX_TEXT = 4000


@dataclass(frozen=True, slots=True)
class Resolved:
    dispute: Dispute
    credited_minor: int
    credited_now: bool
    """False when the dispute had been resolved before: nothing was written this time."""


async def file_dispute(
    session: AsyncSession,
    account: Account,
    *,
    claims: Mapping[int, int | None],
    text: str,
    channel: str,
    actor: Actor,
) -> Dispute:
    """File a claim against ``claims`` (open item id → kopecks contested, None: all of it).

    Refused, with nothing written, when an item is not a charge of the account, is already
    under an open claim, or was billed more than the claim period ago."""
    settings = get_settings().disputes
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise DisputeInvalid(f"Текст претензии обязателен, не длиннее {MAX_TEXT} знаков.")
    if channel not in CHANNELS:
        raise DisputeInvalid("Неизвестный канал подачи претензии.")
    if not claims:
        raise DisputeInvalid("Укажите оспариваемые начисления.")
    items = {i.id: i for i in await repo.open_items(session, list(claims))}
    today = clock.today()
    international = False
    for item_id, claimed in claims.items():
        item = items.get(item_id)
        if item is None or item.account_id != account.id or item.side != DEBIT:
            raise DisputeInvalid(f"Начисление {item_id} не найдено на этом лицевом счёте.")
        if claimed is not None and (
            not isinstance(claimed, int)
            or isinstance(claimed, bool)
            or not 0 < claimed <= item.amount_minor
        ):
            raise DisputeInvalid(f"Оспариваемая сумма по начислению {item_id} неверна.")
        billed = await repo.billing_date(session, item)
        last = rules.claim_last_day(billed, settings)
        if today > last:
            raise ClaimTooLate(
                f"Претензия по начислению от {billed:%d.%m.%Y} принимается до {last:%d.%m.%Y}: "
                f"срок {settings.claim_months} месяцев истёк.",
                item_id=item_id,
            )
        international = international or item.kind in settings.international_item_kinds
    taken = await repo.items_already_disputed(session, list(claims))
    if taken:
        raise ItemAlreadyDisputed(
            "По начислениям " + ", ".join(map(str, sorted(taken))) + " уже есть претензия."
        )
    registered = rules.registration_date(today, settings)
    dispute = Dispute(
        account_id=account.id,
        text=text,
        status="open",
        channel=channel,
        filed_by=actor.name[:128],
        received_on=today,
        registered_on=registered,
        answer_due_on=rules.answer_due(registered, international=international, settings=settings),
        international=international,
        created_at=clock.now(),
    )
    session.add(dispute)
    await session.flush()
    session.add_all(
        DisputeItem(
            dispute_id=dispute.id,
            open_item_id=item_id,
            claimed_minor=claimed if claimed is not None else items[item_id].amount_minor,
        )
        for item_id, claimed in sorted(claims.items())
    )
    await dispute_credit.set_disputed(session, list(claims), True)
    audit.record(
        session,
        actor,
        "dispute.filed",
        object_type="dispute",
        object_id=dispute.id,
        account_id=account.id,
        items=sorted(claims),
        due=dispute.answer_due_on.isoformat(),
    )
    await session.flush()
    return dispute


async def get_dispute(session: AsyncSession, dispute_id: int) -> Dispute:
    dispute = await repo.get(session, dispute_id)
    if dispute is None:
        raise DisputeNotFound(f"Претензия №{dispute_id} не найдена.")
    return dispute


async def assign(session: AsyncSession, dispute_id: int, assignee: str, *, actor: Actor) -> Dispute:
    dispute = await get_dispute(session, dispute_id)
    if dispute.status not in OPEN_STATUSES:
        raise DisputeClosed(f"Претензия №{dispute_id} уже рассмотрена.")
    assignee = cases.clean_assignee(assignee, error=DisputeInvalid)
    dispute.assignee = assignee
    audit.record(
        session,
        actor,
        "dispute.assigned",
        object_type="dispute",
        object_id=dispute.id,
        account_id=dispute.account_id,
        assignee=assignee,
    )
    await session.flush()
    return dispute


async def resolve(
    session: AsyncSession,
    dispute_id: int,
    *,
    outcome: str,
    reason: str,
    actor: Actor,
    accepted: Mapping[int, int] | None = None,
) -> Resolved:
    """Accept (``accepted``: item id → kopecks; None: every claimed sum) or reject a claim.

    Accepting credits through the ledger once per dispute: a second call (or a concurrent one,
    which waits on the dispute's row lock) returns the first result and writes nothing."""
    if outcome not in ("accept", "reject"):
        raise DisputeInvalid("Решение: accept или reject.")
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_TEXT:
        raise DisputeInvalid("Укажите обоснование решения.")
    dispute = await repo.get(session, dispute_id, for_update=True)
    if dispute is None:
        raise DisputeNotFound(f"Претензия №{dispute_id} не найдена.")
    if dispute.status not in OPEN_STATUSES:
        same = (dispute.status == "rejected") == (outcome == "reject")
        if not same:
            raise DisputeClosed(f"Претензия №{dispute_id} уже рассмотрена: {dispute.status}.")
        return Resolved(dispute, dispute.accepted_minor or 0, False)
    items = await repo.items_of(session, dispute.id)
    claimed = {i.open_item_id: i.claimed_minor for i in items}
    amounts: dict[int, int] = {}
    if outcome == "accept":
        given = dict(accepted) if accepted is not None else dict(claimed)
        for item_id, amount in given.items():
            if item_id not in claimed:
                raise DisputeInvalid(f"Начисление {item_id} не входит в претензию.")
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
                raise DisputeInvalid("Суммы — целые копейки, не меньше нуля.")
            if amount > claimed[item_id]:
                raise DisputeInvalid(f"По начислению {item_id} принято больше, чем оспорено.")
            if amount:
                amounts[item_id] = amount
        if not amounts:
            raise DisputeInvalid("Принятая сумма равна нулю: отклоните претензию.")
    total = sum(amounts.values())
    if amounts:
        posted, _ = await dispute_credit.credit_accepted_claim(
            session,
            account_id=dispute.account_id,
            dispute_id=dispute.id,
            accepted=amounts,
            actor=actor.name,
        )
        dispute.credit_entry_id = posted.entry.id
        full = amounts == claimed
        dispute.status = "accepted" if full else "partially_accepted"
    else:
        dispute.status = "rejected"
    for item in items:
        item.accepted_minor = amounts.get(item.open_item_id, 0)
    dispute.accepted_minor = total
    dispute.resolution_text = reason
    dispute.resolved_by = actor.name[:128]
    dispute.resolved_at = clock.now()
    await dispute_credit.set_disputed(session, list(claimed), False)
    audit.record(
        session,
        actor,
        f"dispute.{dispute.status}",
        object_type="dispute",
        object_id=dispute.id,
        account_id=dispute.account_id,
        reason=reason,
        credited_minor=total,
    )
    account = await session.get(Account, dispute.account_id)
    assert account is not None
    sms = templates.dispute_resolved(
        account_number=account.number,
        dispute_id=dispute.id,
        outcome=dispute.status,
        credited_minor=total,
        currency=account.currency,
    )
    await cases.notify_answer(
        session, account, sms, kind="dispute_resolved", case="dispute", case_id=dispute.id
    )
    await session.flush()
    return Resolved(dispute, total, True)


@dataclass(frozen=True, slots=True)
class Deadline:
    """An open claim near or past one of its deadlines, for the supervisor's list."""

    dispute: Dispute
    which: str
    """'registration' (received on a day off, not registered yet) or 'answer'."""
    due_on: dt.date
    days_left: int
    """Negative when overdue."""


def register_by(dispute: Dispute) -> dt.date:
    """The last day the claim may be registered (the next working day after it was received)."""
    return rules.registration_deadline(dispute.received_on, get_settings().disputes)


async def nearing_deadline(session: AsyncSession, *, today: dt.date | None = None) -> list[Dispute]:
    """Open claims whose answer is due within the configured days (or overdue already)."""
    return [d.dispute for d in await deadlines(session, today=today) if d.which == "answer"]


async def deadlines(session: AsyncSession, *, today: dt.date | None = None) -> list[Deadline]:
    """Open claims near or past any deadline: registration (a claim received on a day off waits
    for the next working day) and the answer. Soonest first; a claim may appear twice."""
    day = today or clock.today()
    horizon = day + dt.timedelta(days=get_settings().disputes.nearing_days)
    found: list[Deadline] = []
    for dispute in await repo.open_near(session, due_by=horizon, today=day):
        if dispute.registered_on > day:
            by = register_by(dispute)
            if by <= horizon:
                found.append(Deadline(dispute, "registration", by, (by - day).days))
        if dispute.answer_due_on <= horizon:
            due = dispute.answer_due_on
            found.append(Deadline(dispute, "answer", due, (due - day).days))
    found.sort(key=lambda d: (d.due_on, d.dispute.id, d.which != "registration"))
    return found


async def listing(session: AsyncSession, *, status: str | None = None) -> list[Dispute]:
    return await repo.listing(session, status=status)


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """A charge under a claim: what was contested and what was accepted (None: not decided)."""

    charge: OpenItem
    claimed_minor: int
    accepted_minor: int | None


async def claim_lines(
    session: AsyncSession, dispute: Dispute
) -> tuple[list[ClaimLine], list[DisputeEvidence]]:
    """The claim's charges and its evidence files, for a page."""
    items = await repo.items_of(session, dispute.id)
    charges = {c.id: c for c in await repo.open_items(session, [i.open_item_id for i in items])}
    lines = [ClaimLine(charges[i.open_item_id], i.claimed_minor, i.accepted_minor) for i in items]
    return lines, await repo.evidence_of(session, dispute.id)


async def account_number_of(session: AsyncSession, dispute: Dispute) -> str:
    account = await session.get(Account, dispute.account_id)
    assert account is not None
    return account.number
