"""What Abonent needs from a card acquiring provider, whichever it is.

A provider takes the payer to its own page (``start`` → reference and redirect URL), tells us
how it ended by a signed webhook (``verify_webhook``) and answers a status query when the
webhook did not come or the payer came back first (``query_status``). The provider is chosen by
``settings.acquiring.provider``; only the built-in ``sandbox`` exists so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from abonent.kit.errors import BadRequest, NotFound, Unauthorized, Unavailable

ProviderState = Literal["pending", "processing", "succeeded", "failed"]
"""pending: the payer has not paid yet; processing: the provider has not decided (a timeout);
succeeded: the money is captured; failed: declined or expired, nothing was taken."""


@dataclass(frozen=True, slots=True)
class Started:
    provider_ref: str
    redirect_url: str


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    provider_ref: str
    state: ProviderState
    amount_minor: int
    currency: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookNotice:
    """A webhook whose signature and timestamp were verified."""

    event_id: str
    provider_ref: str
    state: ProviderState
    amount_minor: int
    currency: str
    reason: str | None
    payload: dict[str, Any] = field(default_factory=dict)


class ProviderUnavailable(Unavailable):
    """The provider did not answer (in time): nothing can be concluded from it."""

    default_code = "acquiring_provider_unavailable"


class ProviderRefUnknown(NotFound):
    default_code = "acquiring_ref_unknown"


class WebhookSignatureInvalid(Unauthorized):
    default_code = "webhook_signature_invalid"


class WebhookRejected(BadRequest):
    """Malformed, or outside the accepted time window (a replay)."""

    default_code = "webhook_rejected"


class AcquiringProvider(Protocol):
    name: str

    async def start(
        self,
        *,
        amount_minor: int,
        currency: str,
        description: str,
        notify_url: str,
        return_url: str,
    ) -> Started:
        """Create the payment at the provider; the payer is then sent to ``redirect_url``."""
        ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        """Check signature and freshness; raise WebhookSignatureInvalid / WebhookRejected."""
        ...

    async def query_status(self, provider_ref: str) -> ProviderStatus:
        """Ask the provider; raise ProviderUnavailable when it does not answer."""
        ...
