"""Card payments: start one at the provider, learn how it ended, book it exactly once.

A card payment is ``pending`` until the provider tells us, by a signed webhook or by answering
a status query (when the payer lands back on our result page, or when ``settle`` runs):

* succeeded → booked through :func:`abonent.payments.service.book_payment` (method ``card``,
  source ``card:<provider>``, source_txn_id = the provider's reference), so a webhook, a landing
  and a settlement racing each other book it once;
* failed (declined, expired) → ``failed``;
* processing, or no answer → ``unknown``: never ``failed``, because the money may have been
  taken; only a later answer from the provider settles it.

The flows below (``create``, ``handle_webhook``, ``refresh``, ``settle``) open several short
units of work because a provider call never runs inside a database transaction; each step on
our side (:func:`apply_outcome`) is one unit that locks the account first.
"""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import repository as accounts_repo
from abonent.accounts.service import get_account
from abonent.audit.service import record
from abonent.config import Settings
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import AbonentError, BusinessRuleViolation, NotFound
from abonent.kit.numbers import mask_account_number
from abonent.ledger.service import lock_balance
from abonent.models import CardPayment, WebhookEvent
from abonent.payments import idempotency, sources
from abonent.payments.acquiring import repository as repo
from abonent.payments.acquiring.provider import (
    AcquiringProvider,
    ProviderRefUnknown,
    ProviderState,
    ProviderUnavailable,
)
from abonent.payments.acquiring.sandbox import SandboxProvider
from abonent.payments.service import PaymentRequest, book_payment, check_payable

log = structlog.get_logger(__name__)

CARD_STATUSES = ("pending", "succeeded", "failed", "unknown")
_UNSTARTED = "new:"
"""Prefix of the placeholder reference a card payment has until the provider answers."""


class CardPaymentNotFound(NotFound):
    default_code = "card_payment_not_found"


class AcquiringMismatch(BusinessRuleViolation):
    """The provider reports another amount or currency than we asked for: nothing is booked."""

    default_code = "acquiring_amount_mismatch"


class ProviderNotConfigured(NotFound):
    default_code = "acquiring_provider_unknown"


def build_provider(
    db: Database, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> AcquiringProvider:
    """The provider ``settings.acquiring.provider`` names."""
    cfg = settings.acquiring
    if cfg.provider == "sandbox":
        return SandboxProvider(
            db,
            secret=settings.secret("webhook_secret"),
            public_base_url=cfg.public_base_url,
            tolerance_seconds=cfg.webhook_tolerance_seconds,
            transport=transport,
        )
    raise ProviderNotConfigured(f"no acquiring provider {cfg.provider!r}")


def provider_actor(provider: str) -> Actor:
    return Actor(f"acquiring:{provider}", "system")


# --- URLs the payer sees -------------------------------------------------------------------------


def result_token(settings: Settings, card_id: int) -> str:
    """Keeps the public result page from being read by walking ids."""
    mac = hmac.new(settings.secret("webhook_secret"), f"card-result:{card_id}".encode(), "sha256")
    return mac.hexdigest()[:32]


def token_ok(settings: Settings, card_id: int, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(result_token(settings, card_id), token)


def result_url(settings: Settings, card_id: int) -> str:
    base = settings.acquiring.public_base_url.rstrip("/")
    return f"{base}/pay/card/{card_id}/result?t={result_token(settings, card_id)}"


def notify_url(settings: Settings, provider: str) -> str:
    return f"{settings.acquiring.public_base_url.rstrip('/')}/webhooks/acquiring/{provider}"


# --- starting a payment ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardView:
    """A card payment with its account number, detached from any session."""

    card: CardPayment
    account_number: str


async def create(
    db: Database,
    provider: AcquiringProvider,
    settings: Settings,
    *,
    account_number: str,
    amount_minor: int,
    currency: str,
    return_url: str | None,
    actor: Actor,
    landing_url: Callable[[int], str] | None = None,
) -> CardView:
    """Record a pending card payment, then create it at the provider (outside our transaction).

    The payer comes back to the public result page, or to ``landing_url(card_id)`` when the
    surface that started the payment has a page of its own (the cabinet's).
    """

    async def record_pending(session: AsyncSession) -> CardView:
        account = await get_account(session, account_number)
        balance = await accounts_repo.balance(session, account.id)
        check_payable(account, balance.debt_minor if balance else 0, amount_minor, currency)
        now = clock.now()
        card = CardPayment(
            account_id=account.id,
            amount_minor=amount_minor,
            currency=currency,
            provider=provider.name,
            provider_ref=_UNSTARTED + uuid.uuid4().hex,
            status="pending",
            return_url=return_url or "",
            created_at=now,
            updated_at=now,
        )
        session.add(card)
        await session.flush()
        record(
            session,
            actor,
            "card_payment.create",
            object_type="card_payment",
            object_id=card.id,
            account_id=account.id,
            amount_minor=amount_minor,
            provider=provider.name,
        )
        return CardView(card, account.number)

    view = await db.run(record_pending)
    card_id = view.card.id
    try:
        started = await provider.start(
            amount_minor=amount_minor,
            currency=currency,
            description=f"Оплата услуг связи, ЛС {mask_account_number(view.account_number)}",
            notify_url=notify_url(settings, provider.name),
            return_url=landing_url(card_id) if landing_url else result_url(settings, card_id),
        )
    except Exception as exc:
        # The payer never got a payment page, so nothing can have been paid.
        log.warning("acquiring.start_failed", card_payment_id=card_id, error=repr(exc))
        await db.run(lambda s: _mark_start_failed(s, card_id))
        if isinstance(exc, AbonentError):
            raise
        raise ProviderUnavailable("the card payment provider did not answer") from exc

    async def attach(session: AsyncSession) -> CardView:
        card = await _get(session, card_id)
        card.provider_ref = started.provider_ref
        card.redirect_url = started.redirect_url
        card.updated_at = clock.now()
        return CardView(card, view.account_number)

    return await db.run(attach)


async def _mark_start_failed(session: AsyncSession, card_id: int) -> None:
    card = await _get(session, card_id)
    card.status = "failed"
    card.failure_reason = "Платёжный сервис не ответил"
    card.updated_at = clock.now()


async def get(db: Database, card_id: int) -> CardView:
    async with db.session() as session:
        row = await repo.with_account_number(session, card_id)
    if row is None:
        raise CardPaymentNotFound(f"no card payment {card_id}")
    return CardView(row[0], row[1])


async def _get(session: AsyncSession, card_id: int) -> CardPayment:
    card = await repo.get(session, card_id)
    if card is None:
        raise CardPaymentNotFound(f"no card payment {card_id}")
    return card


# --- learning the outcome ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    state: ProviderState
    amount_minor: int | None = None
    """As the provider reports it (None: it said nothing about the amount)."""
    currency: str | None = None
    reason: str | None = None


async def apply_outcome(
    session: AsyncSession, card_id: int, outcome: Outcome, *, actor: Actor
) -> CardPayment:
    """Move a card payment as the provider's answer says. Idempotent; one unit of work."""
    card = await _get(session, card_id)
    # The account lock serialises a webhook, a landing and a settlement of the same payment.
    await lock_balance(session, card.account_id)
    await session.refresh(card)
    if card.status == "succeeded":
        return card
    if outcome.amount_minor is not None and (
        outcome.amount_minor != card.amount_minor or outcome.currency != card.currency
    ):
        log.error(
            "acquiring.amount_mismatch",
            card_payment_id=card.id,
            ours=card.amount_minor,
            provider=outcome.amount_minor,
        )
        raise AcquiringMismatch(
            f"the provider reports {outcome.amount_minor} {outcome.currency} for card payment "
            f"{card.id} of {card.amount_minor} {card.currency}"
        )
    before = card.status
    if outcome.state == "succeeded":
        await _book(session, card, actor)
    elif outcome.state == "failed" and card.status in ("pending", "unknown"):
        card.status = "failed"
        card.failure_reason = (outcome.reason or "declined")[:255]
    elif outcome.state == "processing" and card.status == "pending":
        card.status = "unknown"
        card.failure_reason = outcome.reason
    if card.status != before:
        card.updated_at = clock.now()
        record(
            session,
            actor,
            f"card_payment.{card.status}",
            object_type="card_payment",
            object_id=card.id,
            account_id=card.account_id,
            reason=card.failure_reason,
            previous=before,
            payment_id=card.payment_id,
        )
    await session.flush()
    return card


async def _book(session: AsyncSession, card: CardPayment, actor: Actor) -> None:
    if card.status == "failed":
        # Money taken after we had given up (an expired session the bank still charged).
        log.warning("acquiring.success_after_failure", card_payment_id=card.id)
    account = await accounts_repo.by_id(session, card.account_id)
    assert account is not None
    try:
        booked = await book_payment(
            session,
            PaymentRequest(
                account=account,
                amount_minor=card.amount_minor,
                currency=card.currency,
                method="card",
                source=sources.card(card.provider),
                source_txn_id=card.provider_ref,
                actor=actor,
                comment=f"card payment {card.id}",
            ),
        )
    except AbonentError as exc:
        # The bank took the money but a rule refuses it here (the account was closed in the
        # meantime): never 'failed'; staff must look at it.
        log.error("acquiring.booking_refused", card_payment_id=card.id, code=exc.code)
        card.status = "unknown"
        card.failure_reason = f"captured but not booked: {exc.code}"[:255]
        return
    card.status = "succeeded"
    card.payment_id = booked.payment.id
    card.failure_reason = None


@dataclass(frozen=True, slots=True)
class WebhookResult:
    result: str
    """'processed' or 'duplicate' (this event id was seen before: nothing changed)."""
    card_payment_id: int | None
    status: str | None


async def handle_webhook(
    db: Database, provider: AcquiringProvider, headers: Mapping[str, str], body: bytes
) -> WebhookResult:
    """Verify, then apply once. A forged, stale or replayed webhook changes nothing."""
    notice = provider.verify_webhook(headers, body)

    async def unit(session: AsyncSession) -> WebhookResult:
        if await repo.webhook_seen(session, provider.name, notice.event_id):
            log.info("acquiring.webhook_replayed", event_id=notice.event_id)
            return WebhookResult("duplicate", None, None)
        card_id = await repo.id_by_provider_ref(session, provider.name, notice.provider_ref)
        if card_id is None:
            raise CardPaymentNotFound(f"no card payment with reference {notice.provider_ref}")
        card = await apply_outcome(
            session,
            card_id,
            Outcome(notice.state, notice.amount_minor, notice.currency, notice.reason),
            actor=provider_actor(provider.name),
        )
        # Recorded in the same transaction: a replay finds it only if the change happened.
        session.add(
            WebhookEvent(
                provider=provider.name,
                event_id=notice.event_id,
                payload=notice.payload,
                received_at=clock.now(),
            )
        )
        await session.flush()
        return WebhookResult("processed", card.id, card.status)

    return await db.run(unit)


async def refresh(db: Database, provider: AcquiringProvider, card_id: int) -> CardPayment:
    """Ask the provider about a pending or unknown card payment and apply its answer."""
    async with db.session() as session:
        card = await _get(session, card_id)
    if card.status not in ("pending", "unknown"):
        return card
    if card.provider_ref.startswith(_UNSTARTED):
        outcome = Outcome("failed", reason="Оплата не была начата")
    else:
        try:
            status = await provider.query_status(card.provider_ref)
        except ProviderUnavailable as exc:
            outcome = Outcome("processing", reason=f"provider did not answer: {exc.detail}")
        except ProviderRefUnknown:
            outcome = Outcome("failed", reason="Платёж неизвестен платёжному сервису")
        else:
            outcome = Outcome(status.state, status.amount_minor, status.currency, status.reason)
    actor = provider_actor(provider.name)
    return await db.run(lambda s: apply_outcome(s, card_id, outcome, actor=actor))


# --- settlement --------------------------------------------------------------------------------


@dataclass(slots=True)
class SettleSummary:
    examined: int = 0
    succeeded: int = 0
    failed: int = 0
    unknown: int = 0
    pending: int = 0
    errors: int = 0
    idempotency_keys_purged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "examined": self.examined,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "unknown": self.unknown,
            "pending": self.pending,
            "errors": self.errors,
            "idempotency_keys_purged": self.idempotency_keys_purged,
        }


async def settle(
    db: Database,
    provider: AcquiringProvider,
    *,
    older_than: dt.timedelta = dt.timedelta(minutes=15),
) -> SettleSummary:
    """Ask the provider again about every unknown card payment and every pending one older than
    ``older_than`` (younger ones may still have a payer on the payment page); book or fail them.
    Also purges expired Idempotency-Keys."""
    summary = SettleSummary()
    cutoff = clock.now() - older_than
    async with db.session() as session:
        ids = await repo.unsettled_ids(session, provider.name, cutoff)
    for card_id in ids:
        summary.examined += 1
        try:
            card = await refresh(db, provider, card_id)
        except AbonentError as exc:
            log.error("acquiring.settle_failed", card_payment_id=card_id, code=exc.code)
            summary.errors += 1
            continue
        field = card.status if card.status in CARD_STATUSES else "errors"
        setattr(summary, field, getattr(summary, field) + 1)
    async with db.session(write=True) as session:
        summary.idempotency_keys_purged = await idempotency.purge_expired(session)
    return summary
