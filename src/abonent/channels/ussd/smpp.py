"""USSD over SMPP 3.4: Abonent as an application bound to the USSD centre as transceiver.

The centre sends each subscriber step as a ``deliver_sm`` with ``ussd_service_op`` (op_begin when
a code is dialled, op_continue when a menu is answered) and ``its_session_info``; Abonent answers
with a ``submit_sm`` echoing ``its_session_info``, op_menu to show a screen and wait or op_close to
show it and end. The op codes are configuration: gateways differ.

``its_session_info`` (SMPP 3.4 §5.3.2.43): the high octet is the session number, the low octet a
dialogue-unit sequence and end flag, so a dialogue is keyed by subscriber and session number
and the value received is echoed as it came. The transport keeps each dialogue's inputs to build
the engine's ``text`` ("" first, then the inputs joined by "*"), as the HTTP callback does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from abonent.channels.smpp import encoding
from abonent.channels.smpp.link import ESME_ROK, LinkSettings, SmppLink
from abonent.config import Settings, UssdSmppSettings
from abonent.db.uow import Database
from abonent.kit.numbers import mask_msisdn
from abonent.ussd import service as ussd_service

log = structlog.get_logger(__name__)

EXPIRED_TEXT = "Сеанс завершён. Наберите код ещё раз."
UNAVAILABLE_TEXT = "Сервис временно недоступен. Попробуйте позже."


@dataclass(frozen=True, slots=True)
class UssdStep:
    """What the engine's ``UssdRequest`` carries."""

    session_id: str
    msisdn: str
    service_code: str
    text: str


class Reply(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def end(self) -> bool: ...


AnswerFn = Callable[[UssdStep], Awaitable[Reply]]


def engine_answer(db: Database, settings: Settings) -> AnswerFn:
    """The dialogue engine's entry point, :func:`abonent.ussd.service.answer`, for ``abonent
    ussd smpp``; tests give the transport a stand-in with the same shape."""

    async def answer(step: UssdStep) -> Reply:
        request = ussd_service.UssdRequest(
            session_id=step.session_id,
            msisdn=step.msisdn,
            service_code=step.service_code,
            text=step.text,
        )
        return await ussd_service.answer(db, settings, request)

    return answer


@dataclass
class _Dialogue:
    session_id: str
    service_code: str
    inputs: list[str] = field(default_factory=list)
    touched: float = 0.0


def link_settings(cfg: UssdSmppSettings) -> LinkSettings:
    if not cfg.system_id or cfg.password is None:
        raise ValueError(
            "USSD over SMPP needs ABONENT_USSD_SMPP__SYSTEM_ID and ABONENT_USSD_SMPP__PASSWORD"
        )
    return LinkSettings(
        host=cfg.host,
        port=cfg.port,
        system_id=cfg.system_id,
        password=cfg.password.get_secret_value(),
        system_type=cfg.system_type,
        window=cfg.window,
        reconnect_backoff=cfg.reconnect_backoff_seconds,
        reconnect_backoff_max=cfg.reconnect_backoff_max_seconds,
    )


class UssdSmppApp:
    def __init__(
        self,
        cfg: UssdSmppSettings,
        answer: AnswerFn,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.answer = answer
        self.link = SmppLink(link_settings(cfg), on_deliver=self._deliver, name="ussd")
        self._monotonic = monotonic
        self._dialogues: dict[tuple[str, int], _Dialogue] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def open_dialogues(self) -> int:
        return len(self._dialogues)

    async def start(self) -> None:
        await self.link.start()

    async def close(self) -> None:
        for task in list(self._tasks):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
        await self.link.close()

    async def __aenter__(self) -> UssdSmppApp:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def serve(self, stop: asyncio.Event) -> None:
        async with self:
            await stop.wait()

    # -- inbound (on the loop) ---------------------------------------------------------------

    def _deliver(self, pdu: Any) -> int:
        op = getattr(pdu, "ussd_service_op", None)
        info = getattr(pdu, "its_session_info", None)
        if op is None or info is None:
            log.info("ussd.not_ussd")
            return ESME_ROK
        raw = pdu.source_addr
        msisdn = raw.decode() if isinstance(raw, bytes) else str(raw)
        text = encoding.decode(bytes(pdu.short_message or b""), int(pdu.data_coding or 0))
        # Acknowledge at once; the answer is a submit_sm of its own.
        self.link.call_soon(self._spawn, msisdn.lstrip("+"), int(op), int(info), text.strip())
        return ESME_ROK

    def _spawn(self, msisdn: str, op: int, info: int, text: str) -> None:
        task = asyncio.create_task(self._step(msisdn, op, info, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the dialogue ------------------------------------------------------------------------

    async def _step(self, msisdn: str, op: int, info: int, text: str) -> None:
        now = self._monotonic()
        self._forget_expired(now)
        key = (msisdn, info >> 8)
        if op == self.cfg.op_begin:
            dialogue = _Dialogue(f"smpp-{uuid.uuid4().hex}", text, touched=now)
            self._dialogues[key] = dialogue
        elif op == self.cfg.op_continue and key in self._dialogues:
            dialogue = self._dialogues[key]
            dialogue.inputs.append(text)
            dialogue.touched = now
        else:
            log.info("ussd.unknown_session", msisdn=mask_msisdn("+" + msisdn), op=op)
            await self._reply(msisdn, info, EXPIRED_TEXT, end=True)
            return
        step = UssdStep(
            dialogue.session_id, "+" + msisdn, dialogue.service_code, "*".join(dialogue.inputs)
        )
        try:
            reply = await self.answer(step)
            reply_text, end = reply.text, reply.end
        except Exception:
            log.exception("ussd.engine_failed", session_id=dialogue.session_id)
            reply_text, end = UNAVAILABLE_TEXT, True
        if end:
            self._dialogues.pop(key, None)
        await self._reply(msisdn, info, reply_text, end=end)

    def _forget_expired(self, now: float) -> None:
        ttl = self.cfg.session_ttl_seconds
        for key in [k for k, d in self._dialogues.items() if now - d.touched > ttl]:
            del self._dialogues[key]

    async def _reply(self, msisdn: str, info: int, text: str, *, end: bool) -> None:
        coding, body = encoding.encode_text(text)
        try:
            await self.link.submit(
                service_type="USSD",
                source_addr_ton=0,
                source_addr_npi=1,
                source_addr="",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=msisdn,
                data_coding=coding,
                short_message=body,
                ussd_service_op=self.cfg.op_close if end else self.cfg.op_menu,
                its_session_info=info,
            )
        except Exception:
            log.exception("ussd.reply_failed", msisdn=mask_msisdn("+" + msisdn))
