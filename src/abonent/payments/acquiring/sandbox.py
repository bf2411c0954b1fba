"""The built-in sandbox acquirer: a stand-in for a real provider, for the demo and the tests.

It plays both parts. As a provider client (:class:`SandboxProvider`) it is what our service
calls: ``start``, ``verify_webhook``, ``query_status``. As the "remote" provider it keeps its own
table (``sandbox_acquiring_payments``, what a real provider keeps on its servers), shows the
payer its payment page, and on the payer's choice sends a signed webhook by a real HTTP POST to
our notify URL:

* «Оплатить успешно» → ``succeeded`` + webhook ``payment.succeeded``;
* «Отклонить» → ``declined`` + webhook ``payment.declined``;
* «Таймаут» → ``processing`` and no webhook: the bank has not decided; a status query answers
  ``processing``. The sandbox's back office (buttons on the same page while it is processing,
  or ``abonent payments sandbox-resolve``) finishes it later *without* a webhook, as if the
  notification were lost, so that only ``abonent payments settle`` learns the outcome.

A payment nobody paid within ``session_ttl`` expires (a query then answers ``failed``).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.errors import BusinessRuleViolation, InvalidInput
from abonent.models import SandboxAcquiringPayment
from abonent.payments.acquiring import repository as repo
from abonent.payments.acquiring import signing
from abonent.payments.acquiring.provider import (
    ProviderRefUnknown,
    ProviderState,
    ProviderStatus,
    Started,
    WebhookNotice,
    WebhookRejected,
    WebhookSignatureInvalid,
)

log = structlog.get_logger(__name__)

NAME = "sandbox"
Action = Literal["succeed", "decline", "timeout"]
ACTIONS: tuple[Action, ...] = ("succeed", "decline", "timeout")
Resolution = Literal["succeeded", "declined"]
DECLINE_REASON = "Отказ банка-эмитента (песочница)"
EXPIRED_REASON = "Время на оплату истекло (песочница)"
_STATE: dict[str, ProviderState] = {
    "created": "pending",
    "processing": "processing",
    "succeeded": "succeeded",
    "declined": "failed",
    "expired": "failed",
}


class SandboxStateError(BusinessRuleViolation):
    default_code = "sandbox_state"


@dataclass(frozen=True, slots=True)
class SandboxView:
    """What the sandbox's payment page shows."""

    ref: str
    amount_minor: int
    currency: str
    description: str
    status: str
    return_url: str
    merchant: str


@dataclass(frozen=True, slots=True)
class Choice:
    view: SandboxView
    changed: bool
    delivered: bool | None
    """Whether our webhook endpoint acknowledged the notice (None: none was sent)."""


class SandboxProvider:
    name = NAME

    def __init__(
        self,
        db: Database,
        *,
        secret: bytes,
        public_base_url: str,
        tolerance_seconds: int,
        merchant: str = "Абонент",
        session_ttl: dt.timedelta = dt.timedelta(minutes=30),
        transport: httpx.AsyncBaseTransport | None = None,
        delivery_timeout: float = 5.0,
    ) -> None:
        self.db = db
        self.secret = secret
        self.base_url = public_base_url.rstrip("/")
        self.tolerance = tolerance_seconds
        self.merchant = merchant
        self.session_ttl = session_ttl
        # Tests route the webhook into the app in process; otherwise it is a real HTTP POST.
        self.transport = transport
        self.delivery_timeout = delivery_timeout

    # --- what our service calls -------------------------------------------------------------

    async def start(
        self,
        *,
        amount_minor: int,
        currency: str,
        description: str,
        notify_url: str,
        return_url: str,
    ) -> Started:
        ref = "sbx_" + secrets.token_hex(12)
        now = clock.now()
        async with self.db.session(write=True) as session:
            session.add(
                SandboxAcquiringPayment(
                    ref=ref,
                    amount_minor=amount_minor,
                    currency=currency,
                    description=description[:255],
                    status="created",
                    notify_url=notify_url,
                    return_url=return_url,
                    created_at=now,
                    updated_at=now,
                )
            )
        return Started(provider_ref=ref, redirect_url=self.page_url(ref))

    def page_url(self, ref: str) -> str:
        return f"{self.base_url}/sandbox/acquiring/{ref}"

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        lowered = {k.lower(): v for k, v in headers.items()}
        raw_ts = lowered.get(signing.TIMESTAMP_HEADER.lower(), "")
        presented = lowered.get(signing.SIGNATURE_HEADER.lower(), "")
        if not raw_ts.isdigit() or len(raw_ts) > 12 or not presented:
            raise WebhookSignatureInvalid("the webhook is not signed")
        timestamp = int(raw_ts)
        if not signing.valid(self.secret, timestamp, body, presented):
            log.warning("acquiring.webhook_forged", provider=NAME)
            raise WebhookSignatureInvalid("the webhook signature does not match")
        age = clock.now().timestamp() - timestamp
        if abs(age) > self.tolerance:
            log.warning("acquiring.webhook_stale", provider=NAME, age=age)
            raise WebhookRejected(
                f"the webhook timestamp is {int(age)} s off; at most {self.tolerance} s accepted",
                code="webhook_stale",
            )
        return _notice(body)

    async def query_status(self, provider_ref: str) -> ProviderStatus:
        async with self.db.session(write=True) as session:
            row = await self._row(session, provider_ref)
            self._expire_if_due(row)
            return _status(row)

    # --- the sandbox's own side: its payment page and back office --------------------------

    async def view(self, ref: str) -> SandboxView:
        async with self.db.session(write=True) as session:
            row = await self._row(session, ref)
            self._expire_if_due(row)
            return self._view(row)

    async def choose(self, ref: str, action: str) -> Choice:
        """The payer pressed a button on the payment page."""
        if action not in ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}", code="action_invalid")
        event: dict[str, Any] | None = None
        async with self.db.session(write=True) as session:
            row = await self._row(session, ref)
            self._expire_if_due(row)
            if row.status != "created":
                return Choice(self._view(row), changed=False, delivered=None)
            row.status = {"succeed": "succeeded", "decline": "declined"}.get(action, "processing")
            row.updated_at = clock.now()
            if row.status != "processing":
                event = self._event(row)
            view, notify_url = self._view(row), row.notify_url
        # Committed first: our webhook handler (maybe this very server) must see it final.
        delivered = await self.deliver(notify_url, event) if event is not None else None
        return Choice(view, changed=True, delivered=delivered)

    async def resolve(self, ref: str, outcome: str) -> SandboxView:
        """The bank finished a 'processing' payment; the notification is lost (no webhook)."""
        if outcome not in ("succeeded", "declined"):
            raise InvalidInput("outcome must be succeeded or declined", code="outcome_invalid")
        async with self.db.session(write=True) as session:
            row = await self._row(session, ref)
            if row.status != "processing":
                raise SandboxStateError(
                    f"sandbox payment {ref} is {row.status}; only a processing one is resolved"
                )
            row.status = outcome
            row.updated_at = clock.now()
            return self._view(row)

    async def deliver(self, notify_url: str, event: dict[str, Any]) -> bool:
        """POST the signed webhook; a failure is logged (our side also asks when needed)."""
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            signing.TIMESTAMP_HEADER: str(timestamp),
            signing.SIGNATURE_HEADER: signing.signature(self.secret, timestamp, body),
            signing.EVENT_HEADER: str(event["event_id"]),
        }
        try:
            async with httpx.AsyncClient(
                transport=self.transport, timeout=self.delivery_timeout, trust_env=False
            ) as client:
                response = await client.post(notify_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("sandbox.webhook_undelivered", url=notify_url, error=repr(exc))
            return False
        ok = 200 <= response.status_code < 300
        if not ok:
            log.warning("sandbox.webhook_refused", url=notify_url, status=response.status_code)
        return ok

    # --- helpers --------------------------------------------------------------------------------

    async def _row(self, session: AsyncSession, ref: str) -> SandboxAcquiringPayment:
        row = await repo.sandbox_payment(session, ref)
        if row is None:
            raise ProviderRefUnknown(f"the sandbox has no payment {ref}")
        return row

    def _expire_if_due(self, row: SandboxAcquiringPayment) -> None:
        now = clock.now()
        if row.status == "created" and row.created_at <= now - self.session_ttl:
            row.status = "expired"
            row.updated_at = now

    def _view(self, row: SandboxAcquiringPayment) -> SandboxView:
        return SandboxView(
            ref=row.ref,
            amount_minor=row.amount_minor,
            currency=row.currency,
            description=row.description,
            status=row.status,
            return_url=row.return_url,
            merchant=self.merchant,
        )

    def _event(self, row: SandboxAcquiringPayment) -> dict[str, Any]:
        succeeded = row.status == "succeeded"
        return {
            "event_id": "evt_" + secrets.token_hex(12),
            "type": "payment.succeeded" if succeeded else "payment.declined",
            "ref": row.ref,
            "status": row.status,
            "amount_minor": row.amount_minor,
            "currency": row.currency,
            "reason": None if succeeded else DECLINE_REASON,
            "created_at": clock.now().isoformat(),
        }


def _status(row: SandboxAcquiringPayment) -> ProviderStatus:
    state = _STATE[row.status]
    reason = {"declined": DECLINE_REASON, "expired": EXPIRED_REASON}.get(row.status)
    return ProviderStatus(row.ref, state, row.amount_minor, row.currency, reason)


def _notice(body: bytes) -> WebhookNotice:
    try:
        data = json.loads(body)
    except ValueError:
        raise WebhookRejected("the webhook body is not JSON", code="webhook_malformed") from None
    if not isinstance(data, dict):
        raise WebhookRejected("the webhook body is not an object", code="webhook_malformed")
    event_id, ref, status = data.get("event_id"), data.get("ref"), data.get("status")
    amount, currency, reason = data.get("amount_minor"), data.get("currency"), data.get("reason")
    if (
        not isinstance(event_id, str)
        or not 1 <= len(event_id) <= 128
        or not isinstance(ref, str)
        or not 1 <= len(ref) <= 128
        or status not in ("succeeded", "declined")
        or not isinstance(amount, int)
        or isinstance(amount, bool)
        or amount <= 0
        or not isinstance(currency, str)
        or not (reason is None or isinstance(reason, str))
    ):
        raise WebhookRejected("the webhook body lacks required fields", code="webhook_malformed")
    return WebhookNotice(
        event_id=event_id,
        provider_ref=ref,
        state="succeeded" if status == "succeeded" else "failed",
        amount_minor=amount,
        currency=currency,
        reason=reason,
        payload=data,
    )
