"""Booking payments from any source, exactly once, and what a payment sets in motion.

Every source (OSMP agents, the JSON API, card acquiring, registries, the office desk) books
through :func:`book_payment`: idempotent on ``(source, source_txn_id)`` with a stored
fingerprint, allocated to the oldest debt, restoring services whose overdue debt it clears,
and queueing the confirmation SMS through the outbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts.service import change_service_status
from abonent.audit.service import record
from abonent.config import get_settings
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.money import format_money
from abonent.kit.numbers import mask_account_number
from abonent.ledger.service import DEBIT, lock_balance, post_credit, reverse_entry
from abonent.models import Account, Customer, OpenItem, Payment, Service
from abonent.models.ledger import still_open
from abonent.outbox import service as outbox
from abonent.payments.errors import (
    AccountNotPayable,
    AmountInvalid,
    DuplicateMismatch,
    NotReversible,
    PaymentNotFound,
    PaymentRefused,
)

log = structlog.get_logger(__name__)

METHODS = ("agent", "api", "card", "registry", "office", "transfer")


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    account: Account
    amount_minor: int
    method: str
    source: str
    """Namespace of the transaction id: 'osmp:SBER', 'api:3', 'card:sandbox', 'office'."""
    source_txn_id: str
    actor: Actor
    currency: str = "RUB"
    txn_date: dt.datetime | None = None
    comment: str | None = None
    agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class Booked:
    payment: Payment
    created: bool
    """False when this was a replay of an already booked payment."""
    restored_service_ids: tuple[int, ...] = ()


def fingerprint(account_number: str, amount_minor: int, currency: str) -> str:
    return hashlib.sha256(f"{account_number}|{amount_minor}|{currency}".encode()).hexdigest()


def check_payable(account: Account, debt_minor: int, amount_minor: int, currency: str) -> None:
    """Whether ``account`` may receive ``amount_minor`` now. Shared by OSMP check and pay.

    Closed and suspended accounts with debt still accept payment; a closed account takes no
    more than it owes, because money left on a closed account could only be refunded.
    """
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise AmountInvalid("amount must be a positive number of kopecks")
    if currency != account.currency:
        raise AmountInvalid(
            f"account {account.number} is in {account.currency}", code="currency_mismatch"
        )
    if account.status == "closed":
        if debt_minor <= 0:
            raise AccountNotPayable(f"account {account.number} is closed and owes nothing")
        if amount_minor > debt_minor:
            raise PaymentRefused(
                f"account {account.number} is closed: at most {format_money(debt_minor)} "
                "(its remaining debt) can be paid",
                code="payment_exceeds_closed_debt",
            )


async def find(session: AsyncSession, source: str, source_txn_id: str) -> Payment | None:
    return await session.scalar(
        select(Payment).where(Payment.source == source, Payment.source_txn_id == source_txn_id)
    )


async def book_payment(session: AsyncSession, request: PaymentRequest) -> Booked:
    account = request.account
    if request.method not in METHODS:
        raise AmountInvalid(f"unknown payment method {request.method!r}", code="method_invalid")
    if not request.source_txn_id or len(request.source_txn_id) > 128:
        raise AmountInvalid(
            "a transaction id of 1-128 characters is required", code="txn_id_invalid"
        )
    print_ = fingerprint(account.number, request.amount_minor, request.currency)
    # Lock first: a retry racing on another connection then finds the first one's row here.
    balance = await lock_balance(session, account.id)
    existing = await find(session, request.source, request.source_txn_id)
    if existing is not None:
        if existing.fingerprint != print_:
            log.warning(
                "payment.duplicate_mismatch",
                source=request.source,
                txn_id=request.source_txn_id,
                payment_id=existing.id,
            )
            raise DuplicateMismatch(
                f"transaction {request.source_txn_id} was already booked with another "
                "account or amount",
                payment_id=existing.id,
            )
        return Booked(existing, created=False)
    check_payable(account, balance.debt_minor, request.amount_minor, request.currency)
    now = clock.now()
    posted = await post_credit(
        session,
        account_id=account.id,
        amount_minor=request.amount_minor,
        counter_ledger=f"clearing:{request.source}",
        description=_memo(request),
        actor=request.actor.name,
        source=f"{request.source}:{request.source_txn_id}"[:128],
        currency=request.currency,
        locked=balance,
    )
    payment = Payment(
        account_id=account.id,
        amount_minor=request.amount_minor,
        currency=request.currency,
        method=request.method,
        source=request.source,
        source_txn_id=request.source_txn_id,
        fingerprint=print_,
        status="succeeded",
        agent_id=request.agent_id,
        entry_id=posted.entry.id,
        txn_date=request.txn_date,
        comment=(request.comment or None) and request.comment[:255],
        actor=request.actor.name[:128],
        created_at=now,
        booked_at=now,
    )
    session.add(payment)
    await session.flush()
    record(
        session,
        request.actor,
        "payment.book",
        object_type="payment",
        object_id=payment.id,
        account_id=account.id,
        amount_minor=request.amount_minor,
        source=request.source,
        txn_id=request.source_txn_id,
    )
    services = (
        await session.scalars(
            select(Service).where(Service.account_id == account.id).order_by(Service.id)
        )
    ).all()
    # Only a payment that cleared some debt can have cleared a suspended service's overdue.
    restored = (
        await restore_paid_services(session, account, request.actor, services=services)
        if posted.allocations
        else ()
    )
    await _notify_booked(session, account, payment, services)
    return Booked(payment, created=True, restored_service_ids=restored)


async def reverse_payment(
    session: AsyncSession, payment_id: int, *, reason: str, actor: Actor
) -> Payment:
    """Undo a booked payment by a reversing entry; the charges it paid are owed again."""
    if not reason or not reason.strip():
        raise AmountInvalid("a reason is required to reverse a payment", code="reason_required")
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise PaymentNotFound(f"no payment {payment_id}")
    await lock_balance(session, payment.account_id)
    await session.refresh(payment)
    if payment.status == "reversed":
        raise NotReversible(
            f"payment {payment_id} was already reversed", code="payment_already_reversed"
        )
    if payment.status != "succeeded" or payment.entry_id is None:
        raise NotReversible(f"payment {payment_id} is {payment.status}, not a booked payment")
    posted = await reverse_entry(session, payment.entry_id, reason=reason.strip(), actor=actor.name)
    payment.status = "reversed"
    payment.reversal_entry_id = posted.entry.id
    payment.reversal_reason = reason.strip()[:255]
    record(
        session,
        actor,
        "payment.reverse",
        object_type="payment",
        object_id=payment.id,
        account_id=payment.account_id,
        reason=reason.strip(),
        amount_minor=payment.amount_minor,
    )
    await outbox.enqueue(
        session,
        outbox.PAYMENT_REVERSED,
        {"payment_id": payment.id, "amount_minor": payment.amount_minor, "reason": reason},
        account_id=payment.account_id,
    )
    await session.flush()
    return payment


async def restore_paid_services(
    session: AsyncSession,
    account: Account,
    actor: Actor,
    *,
    services: Sequence[Service] | None = None,
) -> tuple[int, ...]:
    """Restore every service suspended for debt whose overdue debt is now cleared.

    ``services``: the account's services when the caller already read them.
    """
    if services is None:
        services = (
            await session.scalars(select(Service).where(Service.account_id == account.id))
        ).all()
    suspended = [s for s in services if s.status == "suspended" and s.suspended_reason == "debt"]
    if not suspended or account.status == "closed":
        return ()
    today = clock.today(get_settings().timezone)
    restored = []
    for service in suspended:
        still_overdue = await session.scalar(
            select(OpenItem.id)
            .where(
                OpenItem.account_id == account.id,
                OpenItem.service_id == service.id,
                OpenItem.side == DEBIT,
                still_open(),
                OpenItem.disputed.is_(False),
                OpenItem.due_date < today,
            )
            .limit(1)
        )
        if still_overdue is not None:
            continue
        await change_service_status(
            session, service, "active", actor=actor, reason="overdue debt paid"
        )
        await outbox.enqueue(
            session,
            outbox.SERVICE_RESTORED,
            {
                "service_id": service.id,
                "kind": service.kind,
                "label": service.label,
                "account_number": account.number,
            },
            account_id=account.id,
        )
        restored.append(service.id)
    return tuple(restored)


async def notice_recipient(
    session: AsyncSession, account: Account, services: Sequence[Service] | None = None
) -> str | None:
    """Where an SMS about the account goes: its first active SIM, else the contact phone."""
    if services is None:
        services = (
            await session.scalars(
                select(Service).where(Service.account_id == account.id).order_by(Service.id)
            )
        ).all()
    for service in sorted(services, key=lambda s: s.id):
        if service.kind == "mobile" and service.status != "closed" and service.msisdn:
            return service.msisdn
    return await session.scalar(
        select(Customer.contact_phone).where(Customer.id == account.customer_id)
    )


def confirmation_text(amount_minor: int, currency: str, account_number: str) -> str:
    return (
        f"Платёж {format_money(amount_minor, currency)} зачислен на ЛС "
        f"{mask_account_number(account_number)}"
    ).replace("\u00a0", " ")


async def _notify_booked(
    session: AsyncSession, account: Account, payment: Payment, services: Sequence[Service]
) -> None:
    # Read before queueing, so that both messages are written in one flush.
    to = await notice_recipient(session, account, services)
    await outbox.enqueue(
        session,
        outbox.PAYMENT_BOOKED,
        {
            "payment_id": payment.id,
            "account_number": account.number,
            "amount_minor": payment.amount_minor,
            "currency": payment.currency,
            "method": payment.method,
        },
        account_id=account.id,
    )
    if to is None:
        return
    await outbox.enqueue(
        session,
        outbox.SMS_SEND,
        {
            "to": to,
            "text": confirmation_text(payment.amount_minor, payment.currency, account.number),
            "kind": "payment_confirmation",
            "payment_id": payment.id,
        },
        account_id=account.id,
        dedupe_key=f"sms:payment:{payment.id}",
        fresh=True,
    )


def _memo(request: PaymentRequest) -> str:
    return f"Payment via {request.source} ({request.source_txn_id})"
