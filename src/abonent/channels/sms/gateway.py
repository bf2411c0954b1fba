"""Where SMS go: behind one small interface, chosen by configuration."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from abonent.channels.sms.smpp import ReceiptCallback, SmppSmsGateway
from abonent.config import Settings

log = structlog.get_logger(__name__)


class SmsGateway(Protocol):
    async def send(self, *, sender: str, to: str, text: str, idempotency_key: str) -> str:
        """Hand one message to the network; return the gateway's message id.

        ``idempotency_key`` is the same on every attempt at one message (the relay passes the
        outbox message's id): after a relay died between sending and recording, the message is
        sent again with the same key, so a gateway that keeps keys delivers it once.
        """
        ...


@dataclass
class SentSms:
    sender: str
    to: str
    text: str
    message_id: str
    idempotency_key: str


@dataclass
class MemorySmsGateway:
    """Keeps messages in process: for unit tests and the demo's inspection.

    It keeps keys as a provider would: a repeated key is answered with the first message id and
    not delivered again (``sent``), but every call is counted (``calls``, the keys in order).
    """

    sent: list[SentSms] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _by_key: dict[str, str] = field(default_factory=dict)

    async def send(self, *, sender: str, to: str, text: str, idempotency_key: str) -> str:
        self.calls.append(idempotency_key)
        if idempotency_key in self._by_key:
            return self._by_key[idempotency_key]
        message_id = f"mem-{next(self._ids)}"
        self._by_key[idempotency_key] = message_id
        self.sent.append(SentSms(sender, to, text, message_id, idempotency_key))
        self.delivered(self.sent[-1])
        return message_id

    def delivered(self, sms: SentSms) -> None:
        """Called once per new message (not for a repeated key)."""


class ConsoleSmsGateway(MemorySmsGateway):
    """Prints every message: what `make demo` uses so a person can see notices go out."""

    def delivered(self, sms: SentSms) -> None:
        print(f"[SMS {sms.message_id}] {sms.sender} → {sms.to}: {sms.text}", flush=True)


def gateway_from(settings: Settings, *, on_receipt: ReceiptCallback | None = None) -> SmsGateway:
    """The configured gateway; ``on_receipt`` gets the delivery receipts of one that has them."""
    if settings.sms.gateway == "smpp":
        return SmppSmsGateway(settings.sms, on_receipt=on_receipt)
    if settings.sms.gateway == "memory":
        return MemorySmsGateway()
    return ConsoleSmsGateway()
