"""The SMPP bind (channels/smpp/link.py) against an SMSC that misbehaves: a refused bind, a
garbage frame, commands it does not know, silence where an answer is due, late answers, binds
that keep dropping, and a stop while still connecting (tests/smpp/scripted.py plays the SMSC;
the real peer cannot be made to do these)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from abonent.channels.smpp import link as link_module
from abonent.channels.smpp.link import (
    ESME_RINVCMDID,
    ESME_ROK,
    ESME_RX_T_APPN,
    LinkDown,
    LinkSettings,
    SmppError,
    SmppLink,
)
from tests.smpp.scripted import ScriptedSmsc, header

PASSWORD = "Scripted-pw-4471"
SUBMIT = {"source_addr": "Abonent", "destination_addr": "79161234567", "short_message": b"hi"}
ESME_RINVPASWD = 0x0E


def settings(smsc: ScriptedSmsc, **overrides: Any) -> LinkSettings:
    base: dict[str, Any] = {
        "host": smsc.host,
        "port": smsc.port,
        "system_id": "abonent",
        "password": PASSWORD,
        "response_timeout": 2.0,
        "enquire_link_seconds": 30.0,
        "bind_wait_seconds": 2.0,
        "reconnect_backoff": 0.01,
        "reconnect_backoff_max": 0.05,
    }
    return LinkSettings(**(base | overrides))


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    # kit/logs.py hands structlog's events to the standard library as dicts.
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == name]


@pytest.fixture
async def smsc() -> AsyncIterator[ScriptedSmsc]:
    server = await ScriptedSmsc().start()
    yield server
    await server.stop()


@pytest.fixture
async def bound(smsc: ScriptedSmsc) -> AsyncIterator[SmppLink]:
    link = SmppLink(settings(smsc))
    await link.wait_bound()
    yield link
    await link.close()


async def test_a_refused_bind_is_retried_never_bound_and_says_why_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    smsc = await ScriptedSmsc(bind_status=ESME_RINVPASWD).start()
    link = SmppLink(settings(smsc, bind_wait_seconds=0.3))
    try:
        with pytest.raises(LinkDown, match=f"not bound to 127.0.0.1:{smsc.port}"):
            await link.wait_bound(within=0.5)
        assert not link.bound and link.binds == 0
        await smsc.wait_until(lambda: len(smsc.commands("bind_transceiver")) >= 2)
        with pytest.raises(LinkDown):
            await link.submit(**SUBMIT)
    finally:
        await link.close()
        await smsc.stop()
    assert smsc.commands("submit_sm") == []
    failed = events(caplog, "smpp.bind_failed")
    assert failed and failed[0]["error"] == "(14) bind_transceiver_resp: Invalid Password"
    assert failed[0]["retry_in_s"] == 0.01
    assert PASSWORD not in caplog.text


async def test_a_garbage_frame_drops_the_bind_and_it_binds_again(
    smsc: ScriptedSmsc, bound: SmppLink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await smsc.write(header(0x00000015, 1, length=8))  # a length no PDU can have
    await smsc.wait_until(lambda: bound.binds == 2)
    assert await bound.submit(**SUBMIT) == "s1"
    assert smsc.connections == 2
    assert [e["length"] for e in events(caplog, "smpp.bad_frame")] == [8]


async def test_a_command_it_does_not_know_is_nacked_and_the_bind_carries_on(
    smsc: ScriptedSmsc, bound: SmppLink
) -> None:
    await smsc.write(header(0x00000999, 77))
    await smsc.wait_until(lambda: smsc.commands("generic_nack"))
    [nack] = smsc.commands("generic_nack")
    assert (nack.sequence, nack.status) == (77, ESME_RINVCMDID)
    assert await bound.submit(**SUBMIT) == "s1"
    assert bound.binds == 1 and smsc.connections == 1


async def test_a_response_it_does_not_know_drops_the_bind(
    smsc: ScriptedSmsc, bound: SmppLink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await smsc.write(header(0x80000999, 5))
    await smsc.wait_until(lambda: bound.binds == 2)
    assert smsc.commands("generic_nack") == []  # a response is never answered
    assert events(caplog, "smpp.bad_pdu")
    assert await bound.submit(**SUBMIT) == "s1"


async def test_the_smscs_enquire_link_is_answered_with_its_sequence(
    smsc: ScriptedSmsc, bound: SmppLink
) -> None:
    await smsc.send("enquire_link", sequence=4242)
    await smsc.wait_until(lambda: smsc.commands("enquire_link_resp"))
    [resp] = smsc.commands("enquire_link_resp")
    assert (resp.sequence, resp.status) == (4242, ESME_ROK)


async def test_an_alert_notification_is_read_and_needs_no_answer(
    smsc: ScriptedSmsc, bound: SmppLink
) -> None:
    await smsc.send("alert_notification", source_addr="79161234567", esme_addr="Abonent")
    assert await bound.submit(**SUBMIT) == "s1"  # read past it
    assert [r.command for r in smsc.read] == ["bind_transceiver", "submit_sm"]
    assert bound.binds == 1


async def test_a_deliver_sm_without_a_handler_is_acknowledged(
    smsc: ScriptedSmsc, bound: SmppLink
) -> None:
    seq = await smsc.send(
        "deliver_sm", source_addr="79161234567", destination_addr="Abonent", short_message=b"x"
    )
    await smsc.wait_until(lambda: smsc.commands("deliver_sm_resp"))
    [resp] = smsc.commands("deliver_sm_resp")
    assert (resp.sequence, resp.status) == (seq, ESME_ROK)


async def test_a_handler_answers_with_its_status_or_asks_for_a_resend_when_it_raises(
    smsc: ScriptedSmsc, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[bytes] = []

    def on_deliver(pdu: Any) -> int:
        seen.append(bytes(pdu.short_message))
        if pdu.short_message == b"boom":
            raise RuntimeError("handler failed")
        return 0x45  # ESME_RSUBMITFAIL: the handler's own answer

    link = SmppLink(settings(smsc), on_deliver=on_deliver)
    await link.wait_bound()
    try:
        for text in (b"ok", b"boom"):
            await smsc.send(
                "deliver_sm", source_addr="7916", destination_addr="A", short_message=text
            )
        await smsc.wait_until(lambda: len(smsc.commands("deliver_sm_resp")) == 2)
        assert await link.submit(**SUBMIT) == "s1"  # the bind is unharmed
    finally:
        await link.close()
    assert seen == [b"ok", b"boom"]
    assert [r.status for r in smsc.commands("deliver_sm_resp")] == [0x45, ESME_RX_T_APPN]
    assert events(caplog, "smpp.deliver_failed")


async def test_an_unanswered_submit_times_out_and_its_late_answer_is_dropped(
    smsc: ScriptedSmsc,
) -> None:
    smsc.answer_submits = False
    link = SmppLink(settings(smsc, response_timeout=0.2))
    await link.wait_bound()
    try:
        with pytest.raises(SmppError, match=r"^no submit_sm_resp within 0.2 s$"):
            await link.submit(**SUBMIT)
        [late] = smsc.commands("submit_sm")
        # The answer comes after all: nobody waits for it any more, and nothing breaks.
        await smsc.send("submit_sm_resp", sequence=late.sequence, message_id="late")
        smsc.answer_submits = True
        assert await link.submit(**SUBMIT) == "s1"
        assert link.binds == 1
    finally:
        await link.close()


async def test_an_unanswered_enquire_link_drops_the_bind(
    smsc: ScriptedSmsc, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    smsc.answer_enquire_links = False
    link = SmppLink(settings(smsc, enquire_link_seconds=0.05, response_timeout=0.1))
    await link.wait_bound()
    try:
        await smsc.wait_until(lambda: link.binds >= 2)
    finally:
        await link.close()
    assert smsc.commands("enquire_link")
    dropped = events(caplog, "smpp.dropped")
    assert dropped and dropped[0]["error"] == "no enquire_link_resp within 0.1 s"


async def test_a_submit_caught_by_one_dropped_bind_after_another_gives_up(
    smsc: ScriptedSmsc,
) -> None:
    smsc.drop_on_submit = True
    link = SmppLink(settings(smsc))
    await link.wait_bound()
    try:
        with pytest.raises(LinkDown):
            await link.submit(**SUBMIT)
    finally:
        await link.close()
    # Sent once and resent after each of five rebinds (at least once), then given up.
    assert len(smsc.commands("submit_sm")) == 6
    assert link.binds == 6


async def test_stopping_while_the_bind_is_unanswered_ends_promptly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await SmppLink(settings(ScriptedSmsc(port=1))).close()  # never started: nothing to stop
    monkeypatch.setattr(link_module, "_UNBIND_WAIT_SECONDS", 0.1)
    smsc = await ScriptedSmsc(answer_binds=False).start()
    link = SmppLink(settings(smsc))
    try:
        await link.start()
        await smsc.wait_until(lambda: smsc.commands("bind_transceiver"))
        await asyncio.wait_for(link.close(), 2)
        assert not link.bound and link.binds == 0
    finally:
        await smsc.stop()


async def test_stopping_cancels_an_answer_still_being_worked_out(smsc: ScriptedSmsc) -> None:
    started = asyncio.Event()

    async def never(_pdu: Any) -> int:
        started.set()
        await asyncio.Event().wait()
        return ESME_ROK

    link = SmppLink(settings(smsc), on_deliver=never)
    await link.wait_bound()
    await smsc.send("deliver_sm", source_addr="7916", destination_addr="A", short_message=b"x")
    await asyncio.wait_for(started.wait(), 2)
    await asyncio.wait_for(link.close(), 5)
    assert smsc.commands("deliver_sm_resp") == []
    assert [r.command for r in smsc.read] == ["bind_transceiver", "unbind"]


async def test_a_request_it_does_not_serve_is_answered_not_left_waiting(
    smsc: ScriptedSmsc, bound: SmppLink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    seq = await smsc.send("data_sm", source_addr="79161234567", destination_addr="Abonent")
    await smsc.wait_until(lambda: smsc.commands("generic_nack"))
    [nack] = smsc.commands("generic_nack")
    assert (nack.sequence, nack.status) == (seq, ESME_RINVCMDID)
    assert [e["command"] for e in events(caplog, "smpp.unhandled_pdu")] == ["data_sm"]
    assert await bound.submit(**SUBMIT) == "s1"
    assert bound.binds == 1


async def test_a_response_split_across_reads_is_put_back_together() -> None:
    smsc = await ScriptedSmsc(split_replies=True).start()
    link = SmppLink(settings(smsc))
    try:
        await link.wait_bound()
        assert await link.submit(**SUBMIT) == "s1"
        assert await link.submit(**SUBMIT) == "s2"
        assert link.binds == 1
    finally:
        await link.close()
        await smsc.stop()


async def test_a_submit_sm_resp_with_optional_parameters_gives_the_same_id() -> None:
    # An SMSC may add TLVs after the message id (here 0x1400, a vendor's, 2 bytes).
    smsc = await ScriptedSmsc(submit_resp_tail=bytes.fromhex("14000002abcd")).start()
    link = SmppLink(settings(smsc))
    try:
        await link.wait_bound()
        assert await link.submit(**SUBMIT) == "s1"
        assert link.binds == 1
    finally:
        await link.close()
        await smsc.stop()


async def test_a_bind_that_dies_under_its_enquire_link_is_replaced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    smsc = await ScriptedSmsc(drop_on_enquire_link=True).start()
    link = SmppLink(settings(smsc, enquire_link_seconds=0.05))
    try:
        await link.wait_bound()
        await smsc.wait_until(lambda: link.binds >= 2 and link.bound)
        assert await link.submit(**SUBMIT) == "s1"
    finally:
        await link.close()
        await smsc.stop()
    assert "closed" in [e["error"] for e in events(caplog, "smpp.dropped")]


class _RecordingSocket:
    """What connection_made finds as the transport's socket: records the options set."""

    def __init__(self, refuse_quick_ack: bool = False) -> None:
        self.options: list[tuple[int, int, int]] = []
        self.refuse_quick_ack = refuse_quick_ack

    def setsockopt(self, level: int, option: int, value: int) -> None:
        if self.refuse_quick_ack and option == link_module._TCP_QUICKACK:
            raise OSError("not here")
        self.options.append((level, option, value))


class _Transport:
    def __init__(self, sock: _RecordingSocket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> Any:
        return self.sock if name == "socket" else None


@pytest.mark.skipif(link_module._TCP_QUICKACK is None, reason="TCP_QUICKACK is Linux's")
@pytest.mark.parametrize("refused", [False, True])
async def test_every_read_asks_for_an_immediate_ack_where_the_platform_allows(
    refused: bool,
) -> None:
    # An SMSC with Nagle on holds its next response until our ACK (~40 ms when delayed): the
    # bind asks for a quick ACK after each read, and stops asking where the socket refuses.
    link = SmppLink(LinkSettings(host="127.0.0.1", port=1, system_id="a", password="p"))
    bind = link_module._Bind(link)
    sock = _RecordingSocket(refuse_quick_ack=refused)
    bind.connection_made(_Transport(sock))  # type: ignore[arg-type]
    nodelay = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    quick = (socket.IPPROTO_TCP, link_module._TCP_QUICKACK, 1)
    for chunk in (b"\x00\x00", b"\x00\x10"):  # half a header each: nothing to hand over yet
        bind.data_received(chunk)
    assert sock.options == ([nodelay] if refused else [nodelay, quick, quick])
    assert bytes(bind._buffer) == b"\x00\x00\x00\x10"
