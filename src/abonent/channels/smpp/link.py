"""One SMPP 3.4 transceiver bind, kept up, with a window of outstanding ``submit_sm``.

smpplib is synchronous and the mature Python client, so it runs in one reader thread per bind:
that thread connects, binds, reads every PDU (responses, ``deliver_sm``, ``enquire_link``) and
reconnects with backoff when the bind drops. Submits are written from the event loop under the
same send lock and answered through futures keyed by sequence number, so up to ``window`` of them
are outstanding at once instead of one round trip per message. The asyncio SMPP clients on PyPI
are young or unmaintained (aiosmpp 2019, naz 2020); smpplib with a thread is the safer base.

Writes from the event loop are short PDUs to a socket with a timeout: they return at once unless
the SMSC stops reading, and then the worker has nothing better to do than wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import structlog
from smpplib import client as smpp_client
from smpplib import command as smpp_command
from smpplib import consts, exceptions, smpp

log = structlog.get_logger(__name__)
T = TypeVar("T")

# smpplib knows ussd_service_op on submit_sm but not on deliver_sm, where SMPP 3.4 allows it
# too (§4.6.1): without it every USSD deliver_sm would fail to parse.
smpp_command.DeliverSM.params.setdefault("ussd_service_op", smpp_command.Param(type=int, size=1))

ESME_ROK: Final = 0x00
ESME_RMSGQFUL: Final = 0x14
ESME_RTHROTTLED: Final = 0x58
# "ESME receiver temporary app error": the SMSC keeps the deliver_sm and offers it again.
ESME_RX_T_APPN: Final = 0x64
_SLOW_DOWN: Final = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})
_DROPPED = (exceptions.ConnectionError, exceptions.PDUError, OSError)
# A submit caught by this many dropped binds in a row gives up (the relay retries it later).
_MAX_DROPS = 5
# A bind the SMSC ends sooner than this counts as a failed one: the backoff keeps growing.
_SHORT_BIND_SECONDS = 2.0

DeliverHandler = Callable[[Any], int | None]
"""Called in the reader thread with each inbound ``deliver_sm``; returns its response status."""


class SmppError(Exception):
    """The SMSC could not be reached or refused a message."""


class LinkDown(SmppError):
    """No bind right now (connecting, or the bind dropped while a submit was outstanding)."""


class SubmitRefused(SmppError):
    def __init__(self, status: int) -> None:
        self.status = status
        description = consts.DESCRIPTIONS.get(status, "unknown status")
        super().__init__(f"submit_sm refused: 0x{status:08X} {description}")


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


class _Sequence:
    """smpplib's generator is not thread-safe; the reader thread and the loop both draw from it."""

    MAX = 0x7FFFFFFF

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    @property
    def sequence(self) -> int:
        return self._value

    def next_sequence(self) -> int:
        with self._lock:
            self._value = self._value % self.MAX + 1
            return self._value


class _NoWireDumps(logging.Filter):
    """smpplib logs every PDU in hex at DEBUG, the bind's password included: never let one out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith((">>", "<<"))


class _Client(smpp_client.Client):  # type: ignore[misc]
    def __init__(self, host: str, port: int, timeout: float, send_lock: threading.RLock) -> None:
        super().__init__(
            host,
            port,
            timeout=timeout,
            sequence_generator=_Sequence(),
            logger_name="abonent.smpp.wire",
            allow_unknown_opt_params=True,
        )
        self._send_lock = send_lock
        self.peer_unbound = False
        if not any(isinstance(f, _NoWireDumps) for f in self.logger.filters):
            self.logger.addFilter(_NoWireDumps())

    def _create_socket(self) -> socket.socket:
        # One submit at a time (the relay's case) would otherwise wait out Nagle's algorithm
        # against the SMSC's delayed ACK: ~40 ms a message.
        sock: socket.socket = super()._create_socket()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def send_pdu(self, p: Any) -> bool:
        with self._send_lock:
            return bool(super().send_pdu(p))

    def read_pdu(self) -> Any:
        pdu = super().read_pdu()
        # smpplib logs an inbound unbind and carries on; the SMSC then closes the socket.
        # Answer it and let the reader loop reconnect.
        if pdu.command == "unbind":
            resp = smpp.make_pdu("unbind_resp", client=self)
            resp.sequence = pdu.sequence
            self.send_pdu(resp)
            self.peer_unbound = True
        return pdu


class SmppLink:
    def __init__(
        self, cfg: LinkSettings, *, on_deliver: DeliverHandler | None = None, name: str = "smpp"
    ) -> None:
        self.cfg = cfg
        self.name = name
        self._on_deliver = on_deliver
        self._send_lock = threading.RLock()
        self._stopping = threading.Event()
        self._client: _Client | None = None
        self._inflight: dict[int, asyncio.Future[tuple[int, str]]] = {}
        self._thread: threading.Thread | None = None
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
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-reader", daemon=True)
        self._thread.start()

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
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        client = self._client
        if client is not None:
            with contextlib.suppress(*_DROPPED):
                client.send_pdu(smpp.make_pdu("unbind", client=client))
        await asyncio.to_thread(thread.join, 2.0)
        if thread.is_alive() and client is not None and client._socket is not None:
            # The SMSC did not answer the unbind: wake the reader by closing its socket.
            with contextlib.suppress(OSError):
                client._socket.shutdown(2)
            await asyncio.to_thread(thread.join, 5.0)

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
                try:
                    status, message_id = await self._round_trip(fields)
                except LinkDown:
                    # Resent after the rebind (the SMSC may have had it: at least once).
                    dropped += 1
                    if dropped > _MAX_DROPS:
                        raise
                    continue
            if status == ESME_ROK:
                return message_id
            if status not in _SLOW_DOWN or slowed >= self.cfg.throttle_max_retries:
                raise SubmitRefused(status)
            slowed += 1
            self.throttled += 1
            delay = min(
                self.cfg.throttle_backoff * 2 ** (slowed - 1), self.cfg.throttle_backoff_max
            )
            self._resume_at = max(self._resume_at, time.monotonic() + delay)
            log.info("smpp.throttled", link=self.name, status=status, retry_in_s=round(delay, 3))

    async def _round_trip(self, fields: dict[str, Any]) -> tuple[int, str]:
        assert self._loop is not None
        client = self._client
        if client is None:
            raise LinkDown("not bound")
        future: asyncio.Future[tuple[int, str]] = self._loop.create_future()
        with self._send_lock:
            pdu = smpp.make_pdu("submit_sm", client=client, **fields)
            self._inflight[pdu.sequence] = future
            try:
                client.send_pdu(pdu)
            except _DROPPED as exc:
                self._inflight.pop(pdu.sequence, None)
                raise LinkDown(str(exc)) from None
        try:
            return await asyncio.wait_for(future, self.cfg.response_timeout)
        except TimeoutError:
            raise SmppError(f"no submit_sm_resp within {self.cfg.response_timeout:g} s") from None
        finally:
            self._inflight.pop(pdu.sequence, None)

    # -- the reader thread -------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.cfg.reconnect_backoff
        while not self._stopping.is_set():
            client = _Client(
                self.cfg.host, self.cfg.port, self.cfg.enquire_link_seconds, self._send_lock
            )
            client.set_message_received_handler(self._deliver)
            client.set_message_sent_handler(self._answered)
            client.set_error_pdu_handler(self._error_pdu)
            try:
                client.connect()
                client.bind_transceiver(
                    system_id=self.cfg.system_id,
                    password=self.cfg.password,
                    system_type=self.cfg.system_type,
                )
            except _DROPPED as exc:
                # smpplib's messages name the command and status, never the password.
                log.warning(
                    "smpp.bind_failed", link=self.name, host=self.cfg.host, port=self.cfg.port,
                    error=str(exc) or type(exc).__name__, retry_in_s=backoff,
                )  # fmt: skip
                self._drop(client)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.cfg.reconnect_backoff_max)
                continue
            self._client = client
            self.binds += 1
            bound_at = time.monotonic()
            self._call(self._bound.set)
            log.info("smpp.bound", link=self.name, host=self.cfg.host, port=self.cfg.port)
            try:
                while (
                    not client.peer_unbound and client.state == consts.SMPP_CLIENT_STATE_BOUND_TRX
                ):
                    client.read_once()
            except _DROPPED as exc:
                if not self._stopping.is_set():
                    log.warning("smpp.dropped", link=self.name, error=str(exc) or "closed")
            self._client = None
            self._call(self._went_down)
            self._drop(client)
            if time.monotonic() - bound_at >= _SHORT_BIND_SECONDS:
                backoff = self.cfg.reconnect_backoff
            if not self._stopping.is_set():
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.cfg.reconnect_backoff_max)

    def call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        """From the reader thread: have the event loop call ``fn(*args)``."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn, *args)

    def run_on_loop(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """From the reader thread: run ``coro`` on the event loop and wait for its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @staticmethod
    def _drop(client: _Client) -> None:
        # The bind is already gone; smpplib would warn about "disconnecting in the bound state".
        client.state = consts.SMPP_CLIENT_STATE_OPEN
        with contextlib.suppress(*_DROPPED):
            client.disconnect()

    def _call(self, fn: Callable[[], None]) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(fn)

    def _went_down(self) -> None:
        self._bound.clear()
        pending = list(self._inflight.values())
        self._inflight.clear()
        for future in pending:
            if not future.done():
                future.set_exception(LinkDown("bind dropped with the submit outstanding"))

    def _settle(self, sequence: int, status: int, message_id: str) -> None:
        future = self._inflight.get(sequence)

        def settle() -> None:
            if future is not None and not future.done():
                future.set_result((status, message_id))

        if future is not None:
            self._call(settle)

    def _answered(self, pdu: Any, **_: Any) -> None:
        raw = pdu.message_id
        message_id = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw or "")
        self._settle(pdu.sequence, int(pdu.status), message_id.rstrip("\x00"))

    def _error_pdu(self, pdu: Any) -> None:
        # Error submit_sm_resp also reach _answered; a generic_nack only comes here.
        if pdu.command == "generic_nack":
            self._settle(pdu.sequence, int(pdu.status), "")

    def _deliver(self, pdu: Any, **_: Any) -> int:
        if self._on_deliver is None:
            return ESME_ROK
        try:
            status = self._on_deliver(pdu)
        except Exception:
            log.exception("smpp.deliver_failed", link=self.name)
            return ESME_RX_T_APPN
        return ESME_ROK if status is None else status
