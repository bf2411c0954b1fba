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
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from abonent.accounts.service import change_service_status
from abonent.audit.service import record
from abonent.config import get_settings
from abonent.kit import clock, metrics
from abonent.kit.actor import Actor
from abonent.kit.money import format_money
from abonent.ledger import pg_payment
from abonent.ledger.chart import clearing_ledger
from abonent.ledger.service import DEBIT, lock_balance, post_credit, reverse_entry
from abonent.models import Account, AccountBalance, Customer, OpenItem, Payment, Service
from abonent.outbox import service as outbox
from abonent.payments import repository
from abonent.payments.errors import (
    AccountNotPayable,
    AmountInvalid,
    DuplicateMismatch,
    NotReversible,
    PaymentNotFound,
    PaymentRefused,
)
from abonent.payments.memo import memo
from abonent.sms import templates

log = structlog.get_logger(__name__)

METHODS = ("agent", "api", "card", "registry", "office", "transfer")
RESTORE_REASON = "overdue debt paid"


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    account: Account
    amount_minor: int
    method: str
    source: str
    """Namespace of the transaction id, built by :mod:`abonent.payments.sources`."""
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
    return await repository.by_source(session, source, source_txn_id)


async def book_payment(session: AsyncSession, request: PaymentRequest) -> Booked:
    account = request.account
    if request.method not in METHODS:
        raise AmountInvalid(f"unknown payment method {request.method!r}", code="method_invalid")
    if not request.source_txn_id or len(request.source_txn_id) > 128:
        raise AmountInvalid(
            "a transaction id of 1-128 characters is required", code="txn_id_invalid"
        )
    print_ = fingerprint(account.number, request.amount_minor, request.currency)
    if _on_postgres(session):
        booked = await _book_on_postgres(session, request, print_)
        if booked is not None:
            return booked
    # Lock first: a retry racing on another connection then finds the first one's row here.
    balance = await lock_balance(session, account.id)
    existing = await find(session, request.source, request.source_txn_id)
    if existing is not None:
        if existing.fingerprint != print_:
            raise _mismatch(request, existing.id)
        return Booked(existing, created=False)
    check_payable(account, balance.debt_minor, request.amount_minor, request.currency)
    now = clock.now()
    posted = await post_credit(
        session,
        account_id=account.id,
        amount_minor=request.amount_minor,
        counter_ledger=clearing_ledger(request.source),
        description=_memo(request),
        actor=request.actor.name,
        source=f"{request.source}:{request.source_txn_id}"[:128],
        locked=balance,
    )
    payment = _booked_payment(request, print_, entry_id=posted.entry.id, now=now)
    session.add(payment)
    await session.flush()
    record(
        session,
        request.actor,
        "payment.book",
        object_type="payment",
        object_id=payment.id,
        account_id=account.id,
        **_audit_details(request),
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
    metrics.payment_booked(session, request.source)
    return Booked(payment, created=True, restored_service_ids=restored)


def _on_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _book_on_postgres(
    session: AsyncSession, request: PaymentRequest, print_: str
) -> Booked | None:
    """Book with two statements (see :mod:`abonent.ledger.pg_payment`) what the ORM path
    below would book with ~16–25 and several times the CPU; the rows are the same.

    None: this account needs the ORM path (no balance row yet, or what the lock read changed
    before the write, e.g. a booking of this transaction that the lock's snapshot did not
    see); nothing has been written, and the lock, if taken, is kept.
    """
    account = request.account
    # Text statements do not autoflush; the ORM path's first query would have.
    await session.flush()
    locked = await pg_payment.lock(
        session,
        account_id=account.id,
        customer_id=account.customer_id,
        source=request.source,
        source_txn_id=request.source_txn_id,
    )
    if locked is None:
        return None
    if locked.existing_id is not None:
        if locked.existing_fingerprint != print_:
            raise _mismatch(request, locked.existing_id)
        existing = await session.get(Payment, locked.existing_id)
        if existing is None:  # a payment is never deleted, and the lock's snapshot saw it
            raise AssertionError(f"payment {locked.existing_id} vanished")
        return Booked(existing, created=False)
    check_payable(account, locked.debt_minor, request.amount_minor, request.currency)
    # ledger.allocate's own shortcut, on the balance as it is once the credit is posted.
    allocate = (
        locked.debt_minor > 0
        and locked.debt_minor + locked.balance_minor + request.amount_minor > 0
    )
    if locked.new_payment_id is None:
        return None
    payment_id = locked.new_payment_id
    # As the ORM path: only a payment that clears debt can restore a service, and a closed
    # account's services are never restored.
    restorable = allocate and account.status != "closed" and bool(locked.debt_suspended)
    restore = (
        [
            _restored_payload(service.id, service.kind, service.label, account.number)
            for service in locked.debt_suspended
        ]
        if restorable
        else []
    )
    now = clock.now()
    memo = _memo(request)[:255]
    to = locked.recipient
    written = await pg_payment.write(
        session,
        {
            "account_id": account.id,
            "customer_id": account.customer_id,
            "payment_id": payment_id,
            "amount_minor": request.amount_minor,
            "agent_id": request.agent_id,
            "currency": request.currency,
            "method": request.method,
            "source": request.source,
            "source_txn_id": request.source_txn_id,
            "fingerprint": print_,
            "memo": memo,
            "entry_source": f"{request.source}:{request.source_txn_id}"[:128],
            "entry_actor": request.actor.name,
            "counter_ledger": clearing_ledger(request.source),
            "comment": _comment(request),
            "actor": request.actor.name[:128],
            "role": request.actor.role,
            "object_id": str(payment_id),
            "recipient": to,
            "sms_key": f"sms:payment:{payment_id}",
            # As post_credit dates it: clock.today(), the operator's time zone.
            "business_date": clock.today(),
            "now": now,
            "txn_date": request.txn_date,
            "allocate": allocate,
            "restorable": restorable,
            "restore": restore,
            "restore_reason": RESTORE_REASON,
            "today": clock.today(get_settings().timezone),
            "notify": to is not None,
            "details": _audit_details(request),
            "no_details": {},
            "booked_payload": _booked_payload(
                payment_id, account, request.amount_minor, request.currency, request.method
            ),
            "sms_payload": _sms_payload(
                to or "", payment_id, request.amount_minor, request.currency, account.number
            ),
        },
    )
    if written is None:
        return None
    # Every column set: the object joins the session as loaded, and nothing may be left to load.
    payment = _booked_payment(
        request,
        print_,
        entry_id=written.entry_id,
        now=now,
        id=payment_id,
        reversal_entry_id=None,
        reversal_reason=None,
    )
    # The row is in the database already: the session takes the object as loaded, not new.
    make_transient_to_detached(payment)
    session.add(payment)
    _sync_loaded(session, account.id, written, now)
    metrics.payment_booked(session, request.source)
    return Booked(payment, created=True, restored_service_ids=written.restored_service_ids)


def _booked_payment(
    request: PaymentRequest, print_: str, *, entry_id: int, now: dt.datetime, **columns: Any
) -> Payment:
    """The payment row both booking paths write (the PostgreSQL one gives its id and more)."""
    return Payment(
        account_id=request.account.id,
        amount_minor=request.amount_minor,
        currency=request.currency,
        method=request.method,
        source=request.source,
        source_txn_id=request.source_txn_id,
        fingerprint=print_,
        status="succeeded",
        agent_id=request.agent_id,
        entry_id=entry_id,
        txn_date=request.txn_date,
        comment=_comment(request),
        actor=request.actor.name[:128],
        created_at=now,
        booked_at=now,
        **columns,
    )


def _sync_loaded(
    session: AsyncSession, account_id: int, written: pg_payment.Written, now: dt.datetime
) -> None:
    """Objects this session loaded earlier (the OSMP request loads the balance with the account)
    would otherwise keep what the statement changed behind the ORM's back."""
    balance = session.identity_map.get(identity_key(AccountBalance, account_id))
    if isinstance(balance, AccountBalance):
        set_committed_value(balance, "balance_minor", written.balance_minor)
        set_committed_value(balance, "debt_minor", written.debt_minor)
        set_committed_value(balance, "entries_count", written.entries_count)
        set_committed_value(balance, "updated_at", now)
    for cleared in written.cleared:
        item = session.identity_map.get(identity_key(OpenItem, cleared.id))
        if isinstance(item, OpenItem):
            set_committed_value(item, "remaining_minor", cleared.remaining_minor)
            set_committed_value(item, "cleared_at", cleared.cleared_at)
    for service_id in written.restored_service_ids:
        service = session.identity_map.get(identity_key(Service, service_id))
        if isinstance(service, Service):
            set_committed_value(service, "status", "active")
            set_committed_value(service, "suspended_reason", None)


def _mismatch(request: PaymentRequest, payment_id: int) -> DuplicateMismatch:
    log.warning(
        "payment.duplicate_mismatch",
        source=request.source,
        txn_id=request.source_txn_id,
        payment_id=payment_id,
    )
    return DuplicateMismatch(
        f"transaction {request.source_txn_id} was already booked with another account or amount",
        payment_id=payment_id,
    )


async def reverse_payment(
    session: AsyncSession, payment_id: int, *, reason: str, actor: Actor
) -> Payment:
    """Undo a booked payment by a reversing entry; the charges it paid are owed again."""
    if not reason or not reason.strip():
        raise AmountInvalid("a reason is required to reverse a payment", code="reason_required")
    payment = await repository.get(session, payment_id)
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
        services = await repository.services_of(session, account.id)
    suspended = [s for s in services if s.status == "suspended" and s.suspended_reason == "debt"]
    if not suspended or account.status == "closed":
        return ()
    today = clock.today(get_settings().timezone)
    restored = []
    for service in suspended:
        if await repository.open_item_past_due(
            session, account_id=account.id, service_id=service.id, side=DEBIT, due_before=today
        ):
            continue
        await change_service_status(session, service, "active", actor=actor, reason=RESTORE_REASON)
        await outbox.enqueue(
            session,
            outbox.SERVICE_RESTORED,
            _restored_payload(service.id, service.kind, service.label, account.number),
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
    return templates.payment_confirmation(
        amount_minor=amount_minor, currency=currency, account_number=account_number
    )


async def _notify_booked(
    session: AsyncSession, account: Account, payment: Payment, services: Sequence[Service]
) -> None:
    # Read before queueing, so that both messages are written in one flush.
    to = await notice_recipient(session, account, services)
    await outbox.enqueue(
        session,
        outbox.PAYMENT_BOOKED,
        _booked_payload(
            payment.id, account, payment.amount_minor, payment.currency, payment.method
        ),
        account_id=account.id,
    )
    if to is None:
        return
    await outbox.enqueue(
        session,
        outbox.SMS_SEND,
        _sms_payload(to, payment.id, payment.amount_minor, payment.currency, account.number),
        account_id=account.id,
        dedupe_key=f"sms:payment:{payment.id}",
        fresh=True,
    )


# The payloads and columns both booking paths write, built in one place so that they cannot drift.


def _booked_payload(
    payment_id: int, account: Account, amount_minor: int, currency: str, method: str
) -> dict[str, Any]:
    return {
        "payment_id": payment_id,
        "account_number": account.number,
        "amount_minor": amount_minor,
        "currency": currency,
        "method": method,
    }


def _restored_payload(
    service_id: int, kind: str, label: str, account_number: str
) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "kind": kind,
        "label": label,
        "account_number": account_number,
    }


def _sms_payload(
    to: str, payment_id: int, amount_minor: int, currency: str, account_number: str
) -> dict[str, Any]:
    return {
        "to": to,
        "text": confirmation_text(amount_minor, currency, account_number),
        "kind": "payment_confirmation",
        "payment_id": payment_id,
    }


def _audit_details(request: PaymentRequest) -> dict[str, Any]:
    return {
        "amount_minor": request.amount_minor,
        "source": request.source,
        "txn_id": request.source_txn_id,
    }


def _comment(request: PaymentRequest) -> str | None:
    return (request.comment or None) and request.comment[:255]


def _memo(request: PaymentRequest) -> str:
    return memo(request.method, request.source, request.source_txn_id)
