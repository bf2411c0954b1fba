"""A scripted SMSC on a raw TCP socket, for what the real peer (tests/smpp/peer.py) cannot do.

smpp34 speaks the protocol correctly and on its own timers, so it can send no garbage frame, no
command it does not know, no late response, and it always answers an ``enquire_link``. This
server frames PDUs itself (smpplib encodes and decodes them), answers binds and submits as the
test says, records what it read, and writes any bytes the test hands it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smpplib import smpp


class _Sequence:
    def __init__(self) -> None:
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


@dataclass
class Read:
    command: str
    sequence: int
    status: int
    pdu: Any


def header(command_id: int, sequence: int, *, length: int = 16, status: int = 0) -> bytes:
    """A bare 16-byte PDU header (a body-less PDU, or a lie about the length)."""
    return b"".join(n.to_bytes(4, "big") for n in (length, command_id, status, sequence))


@dataclass
class ScriptedSmsc:
    bind_status: int = 0
    answer_submits: bool = True
    answer_enquire_links: bool = True
    drop_on_submit: bool = False
    """Close the connection on every submit_sm, unanswered (a bind that keeps dropping)."""
    drop_on_enquire_link: bool = False
    """Close the connection on an enquire_link, unanswered (a bind found dead by its probe)."""
    submit_resp_tail: bytes = b""
    """Optional parameters (TLV bytes) after the message id of every submit_sm_resp."""
    split_replies: bool = False
    """Write each reply in two TCP segments a moment apart, the first cut inside the body."""
    answer_binds: bool = True
    """False: accept the TCP connection and never answer the bind."""
    host: str = "127.0.0.1"
    port: int = 0
    read: list[Read] = field(default_factory=list)
    connections: int = 0
    _writer: asyncio.StreamWriter | None = None
    _server: asyncio.Server | None = None
    _seq: _Sequence = field(default_factory=_Sequence)
    _ids: int = 0
    _out: bytes = b""

    async def start(self) -> ScriptedSmsc:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def commands(self, name: str) -> list[Read]:
        return [r for r in self.read if r.command == name]

    async def wait_until(self, condition: Callable[[], object], within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the scripted SMSC did not see what the test waited for")
            await asyncio.sleep(0.005)

    async def write(self, data: bytes) -> None:
        """Write raw bytes to the current connection."""
        assert self._writer is not None, "no ESME connected"
        self._writer.write(data)
        await self._writer.drain()

    async def send(self, command: str, *, sequence: int | None = None, **fields: Any) -> int:
        """Send one PDU built by smpplib; return its sequence number."""
        pdu = smpp.make_pdu(command, client=self._seq, **fields)
        if sequence is not None:
            pdu.sequence = sequence
        await self.write(pdu.generate())
        return int(pdu.sequence)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writer = writer
        try:
            while True:
                head = await reader.readexactly(4)
                length = int.from_bytes(head, "big")
                raw = head + await reader.readexactly(length - 4)
                pdu = smpp.parse_pdu(raw, client=self._seq, allow_unknown_opt_params=True)
                self.read.append(Read(pdu.command, pdu.sequence, int(pdu.status or 0), pdu))
                if not await self._answer(pdu, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, pdu: Any, writer: asyncio.StreamWriter) -> bool:
        """Answer one PDU as scripted; False ends the connection."""
        command = pdu.command
        if command == "bind_transceiver":
            if self.answer_binds:
                self._reply(writer, pdu, "bind_transceiver_resp", self.bind_status, system_id="S")
        elif command == "submit_sm":
            if self.drop_on_submit:
                return False
            if self.answer_submits:
                self._ids += 1
                self._reply(writer, pdu, "submit_sm_resp", 0, message_id=f"s{self._ids}")
        elif command == "enquire_link":
            if self.drop_on_enquire_link:
                return False
            if self.answer_enquire_links:
                self._reply(writer, pdu, "enquire_link_resp", 0)
        elif command == "unbind":
            self._reply(writer, pdu, "unbind_resp", 0)
            writer.write(self._out)
            self._out = b""
            await writer.drain()
            return False
        out, self._out = self._out, b""
        if out and self.split_replies:
            # The header and one byte of the body first: the rest of the PDU is still to come.
            writer.write(out[:17])
            await writer.drain()
            await asyncio.sleep(0.02)
            out = out[17:]
        writer.write(out)
        await writer.drain()
        return True

    def _reply(
        self, writer: asyncio.StreamWriter, pdu: Any, command: str, status: int, **fields: Any
    ) -> None:
        resp = smpp.make_pdu(command, client=self._seq, status=status, **fields)
        resp.sequence = pdu.sequence
        data = resp.generate()
        if command == "submit_sm_resp" and self.submit_resp_tail:
            body = data[16:] + self.submit_resp_tail
            data = (16 + len(body)).to_bytes(4, "big") + data[4:16] + body
        self._out += data
