"""Where SMS go: behind one small interface, chosen by configuration."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from abonent.channels.sms.smpp import SmppSmsGateway
from abonent.config import Settings

log = structlog.get_logger(__name__)


class SmsGateway(Protocol):
    async def send(self, *, sender: str, to: str, text: str) -> str:
        """Hand one message to the network; return the gateway's message id."""
        ...


@dataclass
class SentSms:
    sender: str
    to: str
    text: str
    message_id: str


@dataclass
class MemorySmsGateway:
    """Keeps messages in process: for unit tests and the demo's inspection."""

    sent: list[SentSms] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, *, sender: str, to: str, text: str) -> str:
        message_id = f"mem-{next(self._ids)}"
        self.sent.append(SentSms(sender, to, text, message_id))
        return message_id


class ConsoleSmsGateway(MemorySmsGateway):
    """Prints every message: what `make demo` uses so a person can see notices go out."""

    async def send(self, *, sender: str, to: str, text: str) -> str:
        message_id = await super().send(sender=sender, to=to, text=text)
        print(f"[SMS {message_id}] {sender} → {to}: {text}", flush=True)
        return message_id


def gateway_from(settings: Settings) -> SmsGateway:
    if settings.sms.gateway == "smpp":
        return SmppSmsGateway(settings.sms)
    if settings.sms.gateway == "memory":
        return MemorySmsGateway()
    return ConsoleSmsGateway()
