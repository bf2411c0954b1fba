"""One SMPP 3.4 transceiver bind, kept up, with a window of outstanding ``submit_sm``.

The bind is an asyncio transport on the event loop: one thread writes the submits, reads every
PDU (responses, ``deliver_sm``, ``enquire_link``, ``unbind``) and settles each submit's future
by its sequence number, with no hand-off between threads per PDU. smpplib encodes and decodes
every PDU (``smpp.make_pdu`` / ``pdu.generate`` / ``smpp.parse_pdu``) but the hot path's two: a
plain ``submit_sm`` and its ``submit_sm_resp`` are packed in :mod:`.wire` (smpplib's generic
field loop cost more than the rest of a relayed SMS); its blocking socket client is not used.
Up to ``window`` submits are outstanding at once; each read of the socket settles every
response it carries. A task per bind connects, binds, sends an
``enquire_link`` after ``enquire_link_seconds`` of silence (and drops a bind that does not answer
it), and reconnects with backoff when the bind drops.

The asyncio SMPP clients on PyPI are young or unmaintained (aiosmpp 2019, naz 2020); smpplib's
PDU classes with a small transport of our own are the safer base.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, cast

import structlog
from smpplib import command as smpp_command
from smpplib import consts, smpp

from abonent.channels.smpp import wire

log = structlog.get_logger(__name__)
# PDU names in and out at DEBUG (never their bytes: the bind carries the password).
wire_log = logging.getLogger("abonent.smpp.wire")

# smpplib knows ussd_service_op on submit_sm but not on deliver_sm, where SMPP 3.4 allows it
# too (§4.6.1): without it every USSD deliver_sm would fail to parse.
smpp_command.DeliverSM.params.setdefault("ussd_service_op", smpp_command.Param(type=int, size=1))

ESME_ROK: Final = 0x00
ESME_RINVCMDID: Final = 0x03
ESME_RMSGQFUL: Final = 0x14
ESME_RTHROTTLED: Final = 0x58
# "ESME receiver temporary app error": the SMSC keeps the deliver_sm and offers it again.
ESME_RX_T_APPN: Final = 0x64
_SLOW_DOWN: Final = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})
# A submit caught by this many dropped binds in a row gives up (the relay retries it later).
_MAX_DROPS = 5
# A bind the SMSC ends sooner than this counts as a failed one: the backoff keeps growing.
_SHORT_BIND_SECONDS = 2.0
# No SMPP PDU a peer sends us is near this; a longer length means the stream is garbage.
_MAX_PDU = 64 * 1024
_UNBIND_WAIT_SECONDS = 2.0
_SUBMIT_SM_RESP = wire.SUBMIT_SM_RESP.to_bytes(4, "big")

DeliverHandler = Callable[[Any], Awaitable[int | None] | int | None]
"""Called on the event loop with each inbound ``deliver_sm``; returns (or resolves to) its
response status. Other PDUs keep being read while an awaitable answer is pending."""


class SmppError(Exception):
    """The SMSC could not be reached or refused a message."""


class LinkDown(SmppError):
    """No bind right now (connecting, or the bind dropped while a submit was outstanding)."""


class SubmitRefused(SmppError):
    def __init__(self, status: int) -> None:
        self.status = status
        description = consts.DESCRIPTIONS.get(status, "unknown status")
        super().__init__(f"submit_sm refused: 0x{status:08X} {description}")


class _BindRefused(SmppError):
    pass


@dataclass(frozen=True, slots=True)
class LinkSettings:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    window: int = 10
    response_timeout: float = 30.0
    enquire_link_seconds: float = 30.0
    bind_wait_seconds: float = 10.0
    reconnect_backoff: float = 0.5
    reconnect_backoff_max: float = 30.0
    throttle_backoff: float = 0.5
    throttle_backoff_max: float = 10.0
    throttle_max_retries: int = 30


_TCP_QUICKACK: Final[int | None] = getattr(socket, "TCP_QUICKACK", None)


class _Sequence:
    """What smpplib's PDUs draw their sequence numbers from (``client=`` of ``make_pdu``)."""

    MAX = 0x7FFFFFFF

    def __init__(self) -> None:
        self._value = 0

    @property
    def sequence(self) -> int:
        return self._value

    def next_sequence(self) -> int:
        self._value = self._value % self.MAX + 1
        return self._value


class _Bind(asyncio.Protocol):
    """One TCP connection to the SMSC: frames PDUs and hands each to the link."""

    def __init__(self, link: SmppLink) -> None:
        self.link = link
        self.transport: asyncio.Transport | None = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        """Our requests awaiting their response, by sequence number."""
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.last_read = time.monotonic()
        self.bound = False
        self.unbound_by_peer = False
        self._buffer = bytearray()
        self._out: list[bytes] | None = None
        self._quick_ack: Any = None
        """The socket, where the platform lets a read ask for an immediate ACK (Linux)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP transport (uvloop's is not a subclass of asyncio.Transport, so no isinstance).
        # No Nagle: a lone submit would otherwise wait out the SMSC's delayed ACK (~40 ms).
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if _TCP_QUICKACK is not None:
                self._quick_ack = sock

    def data_received(self, data: bytes) -> None:
        self.last_read = time.monotonic()
        if self._quick_ack is not None:
            # Acknowledge at once, every read (the kernel clears the flag after each ACK): an
            # SMSC that keeps Nagle on holds its next response until our ACK, and with no
            # submit of ours to carry it (a batch's tail) a delayed ACK costs ~40 ms. Against
            # the test peer (tokio, Nagle on), batches of 10 sends went from 227 to ~7,000
            # SMS/s, and bench_sms's relay from 0.37 to 0.56-0.66 of the bare loop.
            try:
                self._quick_ack.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
            except OSError:
                self._quick_ack = None
        buffer = self._buffer
        buffer += data
        start, size = 0, len(buffer)
        while size - start >= 16:
            length = int.from_bytes(buffer[start : start + 4], "big")
            if length < 16 or length > _MAX_PDU:
                log.warning("smpp.bad_frame", link=self.link.name, length=length)
                self.abort()
                return
            if size - start < length:
                break
            raw = bytes(buffer[start : start + length])
            start += length
            self.link._received(self, raw)
        if start:
            del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self.bound = False
        # Said to the link now, before the submits below wake: the bind task notices the drop
        # only a few turns of the loop later, and a submit resending meanwhile would find the
        # dead bind still "up" and spend every resend on it at once.
        self.link._lost(self)
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(LinkDown("bind dropped with the request outstanding"))
        if not self.closed.done():
            self.closed.set_result(None)

    def transport_check(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            raise LinkDown("not connected")

    def write(self, pdu: Any) -> None:
        """Queue one PDU; the PDUs written in one turn of the loop go out in one send."""
        self.transport_check()
        if wire_log.isEnabledFor(logging.DEBUG):
            wire_log.debug("Sending %s PDU", pdu.command)
        self.write_bytes(pdu.generate())

    def write_bytes(self, data: bytes) -> None:
        """Queue one PDU already packed (see ``write``)."""
        if self._out is None:
            self._out = [data]
            asyncio.get_running_loop().call_soon(self.flush)
        else:
            self._out.append(data)

    def flush(self) -> None:
        out, self._out = self._out, None
        transport = self.transport
        if out and transport is not None and not transport.is_closing():
            transport.write(b"".join(out))

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class SmppLink:
    def __init__(
        self, cfg: LinkSettings, *, on_deliver: DeliverHandler | None = None, name: str = "smpp"
    ) -> None:
        self.cfg = cfg
        self.name = name
        self._on_deliver = on_deliver
        self._sequence = _Sequence()
        self._stopping = False
        self._bind: _Bind | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bound = asyncio.Event()
        self._window = asyncio.Semaphore(cfg.window)
        self._resume_at = 0.0
        self.binds = 0
        """Successful binds so far (a reconnect adds one)."""
        self.throttled = 0
        """Submits the SMSC asked to slow down for."""

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-bind")

    async def wait_bound(self, within: float | None = None) -> None:
        await self.start()
        try:
            await asyncio.wait_for(self._bound.wait(), within or self.cfg.bind_wait_seconds)
        except TimeoutError:
            raise LinkDown(f"not bound to {self.cfg.host}:{self.cfg.port}") from None

    @property
    def bound(self) -> bool:
        return self._bound.is_set()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        assert self._wake is not None
        self._wake.set()
        bind = self._bind
        if bind is not None and bind.bound:
            with contextlib.suppress(SmppError, TimeoutError):
                await self._request(bind, "unbind", within=_UNBIND_WAIT_SECONDS)
        if bind is not None:
            bind.abort()
        done, _ = await asyncio.wait({task}, timeout=_UNBIND_WAIT_SECONDS)
        if not done:
            task.cancel()  # still connecting: nothing to end politely
        await asyncio.gather(task, return_exceptions=True)
        for pending in list(self._tasks):
            pending.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- submitting --------------------------------------------------------------------------

    async def submit(self, **fields: Any) -> str:
        """Send one ``submit_sm``; return the SMSC's message id.

        Throttling (``ESME_RTHROTTLED``, a full queue) pauses every submit of this bind and
        resends; a dropped bind resends after the reconnect. Other refusals raise.
        """
        slowed = dropped = 0
        while True:
            if not self._bound.is_set():
                await self.wait_bound()
            pause = self._resume_at - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            async with self._window:
                bind = self._bind
                try:
                    if bind is None or not bind.bound:
                        raise LinkDown("not bound")
                    resp = await self._request(bind, "submit_sm", **fields)
                except LinkDown:
                    # Resent after the rebind (the SMSC may have had it: at least once).
                    dropped += 1
                    if dropped > _MAX_DROPS:
                        raise
                    continue
            status = int(resp.status)
            if status == ESME_ROK:
                raw = getattr(resp, "message_id", None)
                text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw or "")
                return text.rstrip("\x00")
            if status not in _SLOW_DOWN or slowed >= self.cfg.throttle_max_retries:
                raise SubmitRefused(status)
            slowed += 1
            self.throttled += 1
            delay = min(
                self.cfg.throttle_backoff * 2 ** (slowed - 1), self.cfg.throttle_backoff_max
            )
            self._resume_at = max(self._resume_at, time.monotonic() + delay)
            log.info("smpp.throttled", link=self.name, status=status, retry_in_s=round(delay, 3))

    async def _request(
        self, bind: _Bind, command: str, *, within: float | None = None, **fields: Any
    ) -> Any:
        """Write one request PDU and wait for its response (or a ``generic_nack``)."""
        assert self._loop is not None
        future: asyncio.Future[Any] = self._loop.create_future()
        if command == "submit_sm" and wire.packable(fields):
            # The relay's hot path: packed here, the same bytes as smpplib's (see wire.py).
            sequence = self._sequence.next_sequence()
            data = wire.submit_sm(sequence, fields)
        else:
            pdu = smpp.make_pdu(command, client=self._sequence, **fields)
            sequence = pdu.sequence
            data = pdu.generate()
        bind.pending[sequence] = future
        try:
            bind.transport_check()
            if wire_log.isEnabledFor(logging.DEBUG):
                wire_log.debug("Sending %s PDU", command)
            bind.write_bytes(data)
        except LinkDown:
            bind.pending.pop(sequence, None)
            raise
        limit = self.cfg.response_timeout if within is None else within
        expiry = self._loop.call_later(limit, _expire, future, command, limit)
        try:
            return await future
        finally:
            expiry.cancel()
            bind.pending.pop(sequence, None)

    # -- reading (on the loop, from the protocol) --------------------------------------------

    def _received(self, bind: _Bind, raw: bytes) -> None:
        if raw[4:8] == _SUBMIT_SM_RESP:
            resp = wire.submit_sm_resp(raw)
            if resp is not None:
                if wire_log.isEnabledFor(logging.DEBUG):
                    wire_log.debug("Read %s PDU", resp.command)
                future = bind.pending.pop(resp.sequence, None)
                if future is not None and not future.done():
                    future.set_result(resp)
                return
        try:
            pdu = smpp.parse_pdu(raw, client=self._sequence, allow_unknown_opt_params=True)
        except Exception as exc:
            # A command we do not know: say so and carry on; anything else: drop the bind.
            if int.from_bytes(raw[4:8], "big") & 0x80000000 == 0:
                self._nack(bind, int.from_bytes(raw[12:16], "big"))
                log.warning("smpp.unknown_pdu", link=self.name, error=type(exc).__name__)
                return
            log.warning("smpp.bad_pdu", link=self.name, error=type(exc).__name__)
            bind.abort()
            return
        command = pdu.command
        if wire_log.isEnabledFor(logging.DEBUG):
            wire_log.debug("Read %s PDU", command)
        if command is None:
            return
        if command.endswith("_resp") or command == "generic_nack":
            future = bind.pending.pop(pdu.sequence, None)
            if future is not None and not future.done():
                future.set_result(pdu)
            return
        if command == "deliver_sm":
            self._deliver(bind, pdu)
        elif command == "enquire_link":
            self._answer(bind, pdu, "enquire_link_resp")
        elif command == "unbind":
            # The SMSC ends the bind: answer it and drop the connection; the bind task rebinds.
            self._answer(bind, pdu, "unbind_resp")
            bind.bound = False
            bind.unbound_by_peer = True
            bind.flush()
            if bind.transport is not None:
                bind.transport.close()
        elif command != "alert_notification":  # the one request SMPP 3.4 gives no response
            # Answered, as an unknown command is: unanswered, it would hold a slot of the SMSC's
            # window until its response timer gave up on the bind.
            log.warning("smpp.unhandled_pdu", link=self.name, command=command)
            self._nack(bind, pdu.sequence)

    def _nack(self, bind: _Bind, sequence: int) -> None:
        nack = smpp.make_pdu("generic_nack", client=self._sequence, status=ESME_RINVCMDID)
        nack.sequence = sequence
        with contextlib.suppress(LinkDown):
            bind.write(nack)

    def _lost(self, bind: _Bind) -> None:
        if self._bind is bind:
            self._bound.clear()

    def _answer(self, bind: _Bind, pdu: Any, command: str, status: int = ESME_ROK) -> None:
        resp = smpp.make_pdu(command, client=self._sequence, status=status)
        resp.sequence = pdu.sequence
        with contextlib.suppress(LinkDown):
            bind.write(resp)

    def _deliver(self, bind: _Bind, pdu: Any) -> None:
        if self._on_deliver is None:
            self._answer(bind, pdu, "deliver_sm_resp")
            return
        try:
            result = self._on_deliver(pdu)
        except Exception:
            log.exception("smpp.deliver_failed", link=self.name)
            self._answer(bind, pdu, "deliver_sm_resp", ESME_RX_T_APPN)
            return
        if inspect.isawaitable(result):
            self._spawn(self._deliver_later(bind, pdu, result))
        else:
            self._answer(bind, pdu, "deliver_sm_resp", ESME_ROK if result is None else result)

    async def _deliver_later(self, bind: _Bind, pdu: Any, result: Awaitable[int | None]) -> None:
        try:
            status = await result
        except Exception:
            log.exception("smpp.deliver_failed", link=self.name)
            status = ESME_RX_T_APPN
        self._answer(bind, pdu, "deliver_sm_resp", ESME_ROK if status is None else status)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        """Have the event loop call ``fn(*args)`` once the current PDU is handled."""
        assert self._loop is not None
        self._loop.call_soon(fn, *args)

    # -- the bind task -----------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = self.cfg.reconnect_backoff
        while not self._stopping:
            try:
                bind = await self._connect()
            except (OSError, SmppError, TimeoutError) as exc:
                # The messages name the command and status, never the password.
                log.warning(
                    "smpp.bind_failed", link=self.name, host=self.cfg.host, port=self.cfg.port,
                    error=str(exc) or type(exc).__name__, retry_in_s=backoff,
                )  # fmt: skip
                await self._pause(backoff)
                backoff = min(backoff * 2, self.cfg.reconnect_backoff_max)
                continue
            self._bind = bind
            self.binds += 1
            bound_at = time.monotonic()
            self._bound.set()
            log.info("smpp.bound", link=self.name, host=self.cfg.host, port=self.cfg.port)
            reason = await self._keep(bind)
            self._bound.clear()
            self._bind = None
            bind.abort()
            if not self._stopping and reason:
                log.warning("smpp.dropped", link=self.name, error=reason)
            if time.monotonic() - bound_at >= _SHORT_BIND_SECONDS:
                backoff = self.cfg.reconnect_backoff
            if not self._stopping:
                await self._pause(backoff)
                backoff = min(backoff * 2, self.cfg.reconnect_backoff_max)

    async def _connect(self) -> _Bind:
        assert self._loop is not None
        _, bind = await asyncio.wait_for(
            self._loop.create_connection(lambda: _Bind(self), self.cfg.host, self.cfg.port),
            self.cfg.response_timeout,
        )
        try:
            resp = await self._request(
                bind,
                "bind_transceiver",
                within=self.cfg.enquire_link_seconds,
                system_id=self.cfg.system_id,
                password=self.cfg.password,
                system_type=self.cfg.system_type,
            )
            if resp.command != "bind_transceiver_resp" or int(resp.status) != ESME_ROK:
                status = int(resp.status)
                description = consts.DESCRIPTIONS.get(status, "unknown status")
                raise _BindRefused(f"({status}) {resp.command}: {description}")
        except BaseException:
            bind.abort()
            raise
        bind.bound = True
        return bind

    async def _keep(self, bind: _Bind) -> str:
        """Until the bind ends: an ``enquire_link`` after each silence. Why it ended, or ''."""
        idle = self.cfg.enquire_link_seconds
        while not self._stopping:
            quiet = time.monotonic() - bind.last_read
            if quiet < idle:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(bind.closed), idle - quiet)
                if bind.closed.done():
                    return "unbind from the SMSC" if bind.unbound_by_peer else "closed"
                continue
            try:
                await self._request(bind, "enquire_link")
            except LinkDown:
                return "closed"
            except SmppError as exc:
                return str(exc)
        return ""

    async def _pause(self, seconds: float) -> None:
        assert self._wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


def _expire(future: asyncio.Future[Any], command: str, limit: float) -> None:
    if not future.done():
        future.set_exception(SmppError(f"no {command}_resp within {limit:g} s"))
