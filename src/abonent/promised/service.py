"""The promised payment: offer, take, and how it ends (repaid, or expired into overdue debt).

Taking one moves money only through the ledger's public API: a credit entry of kind
'promised' allocated to the debt like a payment (so a service suspended for the overdue debt
it covers is restored), a debit open item for the repayment due at the end of the term, and the
fee as a charge due the same day. Payments are allocated oldest due date first, and everything
the promised credit did not cover was cleared by it, so the next payments repay it (then its
fee) before any later charge. Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.config import PromisedPaymentSettings, get_settings
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.ledger import chart
from abonent.ledger.service import lock_balance, post_charge, post_credit
from abonent.models import Account, PromisedPayment
from abonent.outbox import service as outbox
from abonent.payments.service import notice_recipient, restore_paid_services
from abonent.promised import repository as repo
from abonent.promised import rules
from abonent.promised.errors import PromisedRefused
from abonent.promised.schemas import Offer, OfferLine, PromisedOut, PromisedView
from abonent.sms import templates
from abonent.statement.service import statement_for

CHANNELS = ("ussd", "api", "cli", "cabinet")
ADVANCE_LEDGER = chart.PROMISED_ADVANCE_LEDGER
FEE_LEDGER = chart.PROMISED_FEE_LEDGER


@dataclass(frozen=True, slots=True)
class Taken:
    promised: PromisedPayment
    owed_minor: int
    restored_service_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Ended:
    repaid: int = 0
    expired: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"repaid": self.repaid, "expired": self.expired}


def _month_start(today: dt.date) -> dt.date:
    return today.replace(day=1)


def _months_back(first_of_month: dt.date, months: int) -> dt.date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _local_midnight(date: dt.date, tz: str) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)


async def _facts(
    session: AsyncSession, account: Account, cfg: PromisedPaymentSettings
) -> tuple[rules.Facts, dt.date]:
    settings = get_settings()
    now = clock.now()
    today = clock.today(settings.timezone)
    statement = await statement_for(session, account, today=today)
    month = _month_start(today)
    first = _months_back(month, cfg.history_months)
    current = await repo.in_force(session, account.id)
    if current is not None and await repo.repayment_remaining(session, current) == 0:
        current = None  # repaid; the job (or the next take, under the lock) records it
    facts = rules.Facts(
        account_status=account.status,
        account_opened_at=account.opened_at,
        now=now,
        debt_minor=statement.debt_minor,
        overdue_minor=statement.overdue_minor,
        taken_this_month=await repo.taken_since(
            session, account.id, _local_midnight(month, settings.timezone)
        ),
        monthly_charges_minor=await repo.charges_between(
            session, account.id, first, month - dt.timedelta(days=1)
        ),
        in_force_until=current.due_date if current is not None else None,
        currency=account.currency,
    )
    return facts, today + dt.timedelta(days=cfg.term_days)


async def offer(session: AsyncSession, account: Account) -> Offer:
    """What the account may take now, or ``PromisedRefused`` saying why not."""
    cfg = get_settings().promised_payment
    facts, due = await _facts(session, account, cfg)
    maximum = rules.check(facts, cfg)
    amounts = rules.menu(maximum, facts.overdue_minor, cfg)
    return Offer(
        account_number=account.number,
        currency=account.currency,
        max_minor=maximum,
        min_minor=cfg.min_amount_minor,
        term_days=cfg.term_days,
        due_date=due,
        lines=[OfferLine(amount_minor=a, fee_minor=rules.fee_for(a, cfg)) for a in amounts],
    )


async def take(
    session: AsyncSession, account: Account, amount_minor: int, *, channel: str, actor: Actor
) -> Taken:
    """Take a promised payment of one of the offered amounts. A refusal changes nothing."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    balance = await lock_balance(session, account.id)
    # Under the lock: one that has just been repaid or run out no longer stands in the way.
    await _settle_account(session, account.id)
    cfg = get_settings().promised_payment
    current = await offer(session, account)
    rules.check_amount(
        amount_minor, [line.amount_minor for line in current.lines], account.currency
    )
    fee = rules.fee_for(amount_minor, cfg)
    now = clock.now()
    promised = PromisedPayment(
        account_id=account.id,
        amount_minor=amount_minor,
        fee_minor=fee,
        currency=account.currency,
        taken_at=now,
        expires_at=now + dt.timedelta(days=cfg.term_days),
        due_date=current.due_date,
        status="in_force",
        channel=channel,
        actor=actor.name[:128],
    )
    session.add(promised)
    await session.flush()
    source = f"{repo.SOURCE_PREFIX}{promised.id}"
    credit = await post_credit(
        session,
        account_id=account.id,
        amount_minor=amount_minor,
        counter_ledger=ADVANCE_LEDGER,
        kind=chart.PROMISED,
        entry_kind=chart.PROMISED,
        description="Обещанный платёж",
        actor=actor.name,
        source=source,
        locked=balance,
    )
    repayment = await post_charge(
        session,
        account_id=account.id,
        amount_minor=amount_minor,
        revenue_ledger=ADVANCE_LEDGER,
        due_date=promised.due_date,
        kind=repo.REPAYMENT_KIND,
        description=f"Возврат обещанного платежа до {rules.day(promised.due_date)}",
        actor=actor.name,
        source=source,
    )
    promised.credit_entry_id = credit.entry.id
    promised.repayment_entry_id = repayment.entry.id
    promised.repayment_item_id = repayment.item.id if repayment.item else None
    if fee > 0:
        charged = await post_charge(
            session,
            account_id=account.id,
            amount_minor=fee,
            revenue_ledger=FEE_LEDGER,
            due_date=promised.due_date,
            kind=repo.FEE_KIND,
            description="Плата за обещанный платёж",
            actor=actor.name,
            source=source,
        )
        promised.fee_entry_id = charged.entry.id
        promised.fee_item_id = charged.item.id if charged.item else None
    await session.flush()
    restored = await restore_paid_services(session, account, actor)
    owed = await repo.owed(session, promised)
    record(
        session,
        actor,
        "promised.take",
        object_type="promised_payment",
        object_id=promised.id,
        account_id=account.id,
        amount_minor=amount_minor,
        fee_minor=fee,
        channel=channel,
    )
    await _notify_taken(session, account, promised)
    return Taken(promised, owed, restored)


def taken_text(promised: PromisedPayment, account_number: str) -> str:
    return templates.promised_taken(
        amount_minor=promised.amount_minor,
        fee_minor=promised.fee_minor,
        currency=promised.currency,
        due_date=promised.due_date,
        account_number=account_number,
    )


async def _notify_taken(session: AsyncSession, account: Account, promised: PromisedPayment) -> None:
    to = await notice_recipient(session, account)
    if to is None:
        return
    await outbox.enqueue(
        session,
        outbox.SMS_SEND,
        {
            "to": to,
            "text": taken_text(promised, account.number),
            "kind": "promised_taken",
            "category": "service",
            "promised_id": promised.id,
        },
        account_id=account.id,
        dedupe_key=f"sms:promised:{promised.id}",
        fresh=True,
    )


async def out(session: AsyncSession, promised: PromisedPayment, account_number: str) -> PromisedOut:
    owed = await repo.owed(session, promised)
    return PromisedOut(
        id=promised.id,
        account_number=account_number,
        amount_minor=promised.amount_minor,
        fee_minor=promised.fee_minor,
        currency=promised.currency,
        taken_at=promised.taken_at,
        expires_at=promised.expires_at,
        due_date=promised.due_date,
        status=promised.status,
        owed_minor=owed,
        channel=promised.channel,
    )


async def view(session: AsyncSession, account: Account) -> PromisedView:
    """The one in force, else the offer, else the refusal (read only)."""
    current = await repo.in_force(session, account.id)
    if current is not None:
        return PromisedView(
            account_number=account.number,
            in_force=await out(session, current, account.number),
            offer=None,
            refusal=None,
        )
    try:
        offered = await offer(session, account)
    except PromisedRefused as exc:
        return PromisedView(
            account_number=account.number,
            in_force=None,
            offer=None,
            refusal={"code": exc.code, "reason": exc.detail},
        )
    return PromisedView(account_number=account.number, in_force=None, offer=offered, refusal=None)


async def _settle_account(session: AsyncSession, account_id: int) -> None:
    current = await repo.in_force(session, account_id, for_update=True)
    if current is not None:
        await _settle(session, current, clock.now())


async def _settle(session: AsyncSession, promised: PromisedPayment, now: dt.datetime) -> str | None:
    """End one in force if it has ended: 'repaid' (repayment cleared) before 'expired'."""
    if promised.status != "in_force":
        return None
    if await repo.repayment_remaining(session, promised) == 0:
        promised.status = "repaid"
    elif promised.expires_at <= now:
        # What is unpaid stays as it is: the repayment item's due date has passed, so it is
        # the account's overdue debt from now on (the dunning ladder takes it from there).
        promised.status = "expired"
    else:
        return None
    promised.ended_at = now
    await session.flush()
    return promised.status


async def end_due(
    session: AsyncSession, *, limit: int = 500, after_id: int = 0
) -> tuple[Ended, int]:
    """The expiry job's unit: end up to ``limit`` promised payments that are over.

    Idempotent: only rows still in force are touched, each under its row lock, so a second run
    (or two workers at once) finds nothing left to do. Returns what it did and the last id seen.
    """
    now = clock.now()
    repaid = expired = 0
    last = after_id
    for promised_id in await repo.due_to_end(session, now, limit, after_id):
        last = promised_id
        promised = await session.get(
            PromisedPayment, promised_id, with_for_update=True, populate_existing=True
        )
        if promised is None:
            continue
        outcome = await _settle(session, promised, now)
        repaid += outcome == "repaid"
        expired += outcome == "expired"
    return Ended(repaid, expired), last
