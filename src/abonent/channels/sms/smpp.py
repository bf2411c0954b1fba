"""SMS over SMPP 3.4: UCS-2 or GSM-7, concatenated parts, receipts, one bind as transceiver.

``send`` returns the first part's message id (the ``SmsGateway`` contract); ``send_message``
returns every part's. Receipts (``deliver_sm`` with a receipt ``esm_class``) go to
``on_receipt(gateway_message_id, state)``; the ``deliver_sm_resp`` waits for it, so a receipt the
callback could not record is refused with a temporary error and the SMSC offers it again.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from abonent.channels.smpp import encoding, receipts
from abonent.channels.smpp.link import ESME_ROK, ESME_RX_T_APPN, LinkSettings, SmppLink
from abonent.config import SmsSettings

log = structlog.get_logger(__name__)

ReceiptCallback = Callable[[str, str], Awaitable[bool | None] | bool | None]
"""``on_receipt(gateway_message_id, state)``; returning False means "not recorded, send again"."""

# Enough to cover every retry of a relay batch; older keys are the outbox's own business.
_KEYS_KEPT = 50_000
_RECEIPT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class SmppSent:
    message_ids: tuple[str, ...]
    data_coding: int

    @property
    def message_id(self) -> str:
        return self.message_ids[0]


class SmppConfigurationError(ValueError):
    pass


def link_settings(cfg: SmsSettings) -> LinkSettings:
    if not cfg.system_id or cfg.password is None:
        raise SmppConfigurationError(
            "the SMPP gateway needs ABONENT_SMS__SYSTEM_ID and ABONENT_SMS__PASSWORD"
        )
    return LinkSettings(
        host=cfg.host,
        port=cfg.port,
        system_id=cfg.system_id,
        password=cfg.password.get_secret_value(),
        system_type=cfg.system_type,
        window=cfg.window,
        response_timeout=cfg.response_timeout_seconds,
        enquire_link_seconds=cfg.enquire_link_seconds,
        reconnect_backoff=cfg.reconnect_backoff_seconds,
        reconnect_backoff_max=cfg.reconnect_backoff_max_seconds,
        throttle_backoff=cfg.throttle_backoff_seconds,
        throttle_backoff_max=cfg.throttle_backoff_max_seconds,
    )


class SmppSmsGateway:
    def __init__(self, cfg: SmsSettings, *, on_receipt: ReceiptCallback | None = None) -> None:
        self.cfg = cfg
        self.on_receipt = on_receipt
        self.link = SmppLink(link_settings(cfg), on_deliver=self._deliver, name="sms")
        # Idempotency within this process: the same key (the outbox message id) is submitted
        # once; a second send, even a concurrent one, gets the first one's ids.
        self._by_key: OrderedDict[str, asyncio.Future[SmppSent]] = OrderedDict()

    async def start(self) -> None:
        await self.link.start()

    async def close(self) -> None:
        await self.link.close()

    async def __aenter__(self) -> SmppSmsGateway:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def send(
        self, *, sender: str, to: str, text: str, idempotency_key: str | None = None
    ) -> str:
        sent = await self.send_message(sender=sender, to=to, text=text, key=idempotency_key)
        return sent.message_id

    async def send_message(
        self, *, sender: str, to: str, text: str, key: str | None = None
    ) -> SmppSent:
        if key is None:
            return await self._submit(sender, to, text)
        known = self._by_key.get(key)
        if known is not None and not (known.done() and known.exception() is not None):
            return await asyncio.shield(known)
        future: asyncio.Future[SmppSent] = asyncio.get_running_loop().create_future()
        self._by_key[key] = future
        while len(self._by_key) > _KEYS_KEPT:
            self._by_key.popitem(last=False)
        try:
            sent = await self._submit(sender, to, text)
        except BaseException as exc:
            # A failed send may be tried again under the same key.
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else need await it
            raise
        future.set_result(sent)
        return sent

    async def _submit(self, sender: str, to: str, text: str) -> SmppSent:
        encoded = encoding.split(text)
        common: dict[str, Any] = {
            "source_addr_ton": self.cfg.source_ton,
            "source_addr_npi": self.cfg.source_npi,
            "source_addr": sender,
            "dest_addr_ton": self.cfg.dest_ton,
            "dest_addr_npi": self.cfg.dest_npi,
            "destination_addr": to.lstrip("+"),
            "esm_class": encoded.esm_class,
            "data_coding": encoded.data_coding,
            "registered_delivery": 1,
        }
        await self.link.start()
        # The parts go out together inside the window; the ids come back in part order.
        if len(encoded.parts) == 1:
            message_id = await self.link.submit(short_message=encoded.parts[0], **common)
            return SmppSent((message_id,), encoded.data_coding)
        ids = await asyncio.gather(
            *(self.link.submit(short_message=part, **common) for part in encoded.parts)
        )
        return SmppSent(tuple(ids), encoded.data_coding)

    # -- receipts ----------------------------------------------------------------------------

    async def _deliver(self, pdu: Any) -> int:
        receipt = receipts.parse(pdu)
        if receipt is None:
            # Mobile-originated SMS are not Abonent's business yet: acknowledge and drop.
            log.info("sms.mo_ignored")
            return ESME_ROK
        if self.on_receipt is None:
            return ESME_ROK
        try:
            async with asyncio.timeout(_RECEIPT_TIMEOUT):
                recorded = await self._record(receipt.message_id, receipt.state)
        except TimeoutError:
            log.warning("sms.receipt_timeout")
            recorded = False
        return ESME_ROK if recorded else ESME_RX_T_APPN

    async def _record(self, message_id: str, state: str) -> bool:
        assert self.on_receipt is not None
        result = self.on_receipt(message_id, state)
        if inspect.isawaitable(result):
            result = await result
        return result is not False
