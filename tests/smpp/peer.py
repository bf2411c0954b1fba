"""A real SMPP 3.4 peer (SMSC and USSD centre) for tests and benchmarks, on PyPI's ``smpp34``.

``smpp34`` (a Rust/tokio SMPP implementation with an asyncio binding) does the protocol: binds,
framing, windows, timers, TLVs. This class only decides what the SMSC answers and records what it
was sent. Its Python binding accepts every bind and does not show the password, so the peer
checks the ``system_id`` and unbinds a session that gives another one at once; the password is
not verified (see docs/sms.md).

Run by hand: ``python -m tests.smpp.peer --port 2775`` (prints what it receives).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import smpp34

from abonent.channels.smpp import encoding

TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_USSD_SERVICE_OP = 0x0501
TLV_ITS_SESSION_INFO = 0x1383
ESM_CLASS_RECEIPT = 0x04
MESSAGE_STATE = {"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6}
MESSAGE_STATE |= {"UNKNOWN": 7, "REJECTD": 8}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Submitted:
    session_id: str
    source_addr: str
    destination_addr: str
    data_coding: int
    esm_class: int
    registered_delivery: int
    short_message: bytes
    tlvs: dict[int, bytes]
    message_id: str | None
    status: int

    @property
    def udh(self) -> tuple[int, int, int] | None:
        if not self.esm_class & encoding.ESM_CLASS_UDHI:
            return None
        parts = encoding.udh_parts(self.short_message)
        return None if parts is None else parts[:3]

    @property
    def body(self) -> bytes:
        if self.udh is None:
            return self.short_message
        return self.short_message[1 + self.short_message[0] :]

    @property
    def text(self) -> str:
        return encoding.decode(self.body, self.data_coding)

    def tlv_int(self, tag: int) -> int | None:
        value = self.tlvs.get(tag)
        return None if value is None else int.from_bytes(value, "big")


@dataclass
class SmppPeer:
    system_id: str = "abonent"
    password: str = "s3cret"
    host: str = "127.0.0.1"
    port: int = 0
    auto_receipt: str | None = None
    """When set (e.g. "DELIVRD"), a receipt follows every accepted submit."""
    receipt_tlvs: bool = True
    """False: receipts carry only the text form (``id:… stat:…``)."""
    submitted: list[Submitted] = field(default_factory=list)
    sessions: dict[str, smpp34.Esme] = field(default_factory=dict)
    bind_count: int = 0
    rejected_binds: list[str] = field(default_factory=list)
    receipts_sent: list[tuple[str, str, int]] = field(default_factory=list)
    on_submit: Callable[[Submitted], None] | None = None
    refuse: dict[str, int] = field(default_factory=dict)
    """destination_addr → the command_status its submits are refused with."""
    keep: bool = True
    """Record every submit (a long benchmark run turns it off)."""
    hold: bool = False
    """Keep submits unanswered until ``release()`` (to see how many are outstanding)."""
    held: list[smpp34.SubmitSmEvent] = field(default_factory=list)
    _throttle: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: smpp34.Server | None = None
    _pump: asyncio.Task[None] | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> SmppPeer:
        if not self.port:
            self.port = free_port()
        self._server = smpp34.Server(host=self.host, port=self.port, system_id="ABONENT-PEER")
        await self._server.start()
        self._pump = asyncio.create_task(self._run(self._server))
        return self

    async def stop(self) -> None:
        # smpp34's Server.stop() only stops accepting: the SMSC ends its binds first.
        await self.unbind_all()
        for task in [self._pump, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._pump = None
        self.sessions.clear()
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def restart(self, down_for: float = 0.0) -> None:
        """The SMSC ends every bind, is away for ``down_for`` seconds (binds refused), returns."""
        await self.stop()
        await asyncio.sleep(down_for)
        await self.start()

    async def unbind_all(self) -> None:
        """The SMSC ends every bind politely (an ``unbind`` from its side)."""
        for esme in list(self.sessions.values()):
            with contextlib.suppress(Exception):
                await esme.unbind()

    def release(self) -> None:
        self.hold = False
        held, self.held = self.held, []
        for event in held:
            self._submitted(event)

    def throttle_next(self, count: int) -> None:
        """Answer the next ``count`` submits with ESME_RTHROTTLED."""
        self._throttle = count

    @property
    def accepted(self) -> list[Submitted]:
        return [s for s in self.submitted if s.status == smpp34.ESME_ROK]

    @property
    def bound_sessions(self) -> int:
        return len(self.sessions)

    def messages(self) -> list[tuple[str, str]]:
        """(destination, text) of every accepted message, concatenated parts joined."""
        whole: list[tuple[str, str]] = []
        groups: dict[tuple[str, int], dict[int, Submitted]] = {}
        totals: dict[tuple[str, int], int] = {}
        for sub in self.accepted:
            if sub.tlv_int(TLV_USSD_SERVICE_OP) is not None:
                continue
            udh = sub.udh
            if udh is None:
                whole.append((sub.destination_addr, sub.text))
                continue
            ref, total, number = udh
            groups.setdefault((sub.destination_addr, ref), {})[number] = sub
            totals[(sub.destination_addr, ref)] = total
            if len(groups[(sub.destination_addr, ref)]) == total:
                parts = groups.pop((sub.destination_addr, ref))
                body = b"".join(parts[n].body for n in range(1, total + 1))
                whole.append((sub.destination_addr, encoding.decode(body, sub.data_coding)))
        return whole

    async def wait_until(self, condition: Callable[[], object], within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the SMPP peer did not see what the test waited for")
            await asyncio.sleep(0.01)

    async def send_receipt(self, message_id: str, stat: str = "DELIVRD") -> int:
        """Push a delivery receipt for ``message_id``; return the ESME's response status."""
        sub = next(s for s in self.submitted if s.message_id == message_id)
        esme = self.sessions.get(sub.session_id) or next(iter(self.sessions.values()))
        text = (
            f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
            f"submit date:2611181200 done date:2611181201 stat:{stat} err:000 text:"
        )
        tlvs = []
        if self.receipt_tlvs:
            tlvs = [
                smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00"),
                smpp34.Tlv(TLV_MESSAGE_STATE, bytes([MESSAGE_STATE[stat]])),
            ]
        resp = await esme.deliver_sm(
            sub.source_addr,
            text.encode("ascii"),
            source_addr=sub.destination_addr,
            esm_class=ESM_CLASS_RECEIPT,
            tlvs=tlvs,
        )
        self.receipts_sent.append((message_id, stat, resp.command_status))
        return resp.command_status

    # -- the USSD centre ---------------------------------------------------------------------

    async def ussd(
        self, msisdn: str, text: str, *, op: int, session: int, service_code: str = "*100#"
    ) -> int:
        """A subscriber's USSD step: op 1 dials ``text``, op 18 answers a menu with it."""
        esme = next(iter(self.sessions.values()))
        coding, body = encoding.encode_text(text)
        resp = await esme.deliver_sm(
            service_code,
            body,
            source_addr=msisdn,
            data_coding=coding,
            tlvs=[
                smpp34.Tlv(TLV_USSD_SERVICE_OP, bytes([op])),
                smpp34.Tlv(TLV_ITS_SESSION_INFO, session.to_bytes(2, "big")),
            ],
        )
        return resp.command_status

    def ussd_answers(self) -> list[Submitted]:
        return [s for s in self.accepted if s.tlv_int(TLV_USSD_SERVICE_OP) is not None]

    # -- the server loop ---------------------------------------------------------------------

    async def _run(self, server: smpp34.Server) -> None:
        while True:
            event = await server.next()
            if isinstance(event, smpp34.Esme):
                await self._bound(event)
            elif isinstance(event, smpp34.SubmitSmEvent):
                self._submitted(event)
            elif isinstance(event, smpp34.Unbound):
                self.sessions.pop(event.session_id, None)

    async def _bound(self, esme: smpp34.Esme) -> None:
        if esme.system_id != self.system_id:
            self.rejected_binds.append(esme.system_id)
            self._spawn(esme.unbind())
            return
        self.bind_count += 1
        self.sessions[esme.session_id] = esme

    def _submitted(self, event: smpp34.SubmitSmEvent) -> None:
        if self.hold:
            self.held.append(event)
            return
        status, message_id = smpp34.ESME_ROK, None
        if event.session_id not in self.sessions:
            status = 0x04  # ESME_RINVBNDSTS: this session's bind was refused
        elif self._throttle > 0:
            self._throttle -= 1
            status = smpp34.ESME_RTHROTTLED
        elif event.destination_addr in self.refuse:
            status = self.refuse[event.destination_addr]
        else:
            message_id = f"p{next(self._ids):06d}"
        sub = Submitted(
            session_id=event.session_id,
            source_addr=event.source_addr,
            destination_addr=event.destination_addr,
            data_coding=event.data_coding,
            esm_class=event.esm_class,
            registered_delivery=event.registered_delivery,
            short_message=bytes(event.short_message),
            tlvs={t.tag: bytes(t.value) for t in event.tlvs},
            message_id=message_id,
            status=status,
        )
        if self.keep:
            self.submitted.append(sub)
        if message_id is None:
            event.reject(status)
            return
        event.accept(message_id)
        if self.on_submit is not None:
            self.on_submit(sub)
        if self.auto_receipt and sub.registered_delivery:
            self._spawn(self._receipt_later(message_id, self.auto_receipt))

    async def _receipt_later(self, message_id: str, stat: str) -> None:
        # A receipt the ESME could not record yet is offered again, as an SMSC does.
        for _ in range(50):
            await asyncio.sleep(0.02)
            if await self.send_receipt(message_id, stat) == smpp34.ESME_ROK:
                return

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _main() -> None:
    parser = argparse.ArgumentParser(description="A local SMPP 3.4 peer (SMSC + USSD centre).")
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--system-id", default="abonent")
    parser.add_argument("--receipts", default="DELIVRD", help="stat of the automatic receipts")
    parser.add_argument("--quiet", action="store_true", help="print and keep nothing per message")
    args = parser.parse_args()
    peer = SmppPeer(system_id=args.system_id, port=args.port, auto_receipt=args.receipts or None)
    if args.quiet:
        peer.keep = False
    else:
        peer.on_submit = lambda s: print(
            f"submit_sm to {s.destination_addr} dc={s.data_coding} esm=0x{s.esm_class:02x} "
            f"udh={s.udh} id={s.message_id}: {s.text!r}",
            flush=True,
        )
    await peer.start()
    print(f"SMPP peer on {peer.host}:{peer.port}, system_id {peer.system_id!r}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
