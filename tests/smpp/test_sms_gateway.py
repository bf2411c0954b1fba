"""SmppSmsGateway against the real SMPP peer: encodings, parts, window, receipts, drops."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import SecretStr

from abonent.channels.smpp.link import LinkDown, SmppError, SubmitRefused
from abonent.channels.sms.gateway import gateway_from
from abonent.channels.sms.smpp import SmppConfigurationError, SmppSmsGateway
from abonent.config import Settings, SmsSettings
from tests.smpp.peer import TLV_MESSAGE_STATE, SmppPeer

TO = "+79161234567"
CYRILLIC = "Оплата 500,00 ₽ зачислена на счёт ****1234. Баланс 120,50 ₽."


async def test_cyrillic_goes_as_one_ucs2_message(smpp_peer: SmppPeer, sms_settings: SmsSettings):
    async with SmppSmsGateway(sms_settings) as gateway:
        message_id = await gateway.send(sender="Abonent", to=TO, text=CYRILLIC)
    [sub] = smpp_peer.submitted
    assert message_id == sub.message_id == "p000001"
    assert (sub.data_coding, sub.esm_class, sub.registered_delivery) == (8, 0, 1)
    assert (sub.source_addr, sub.destination_addr) == ("Abonent", "79161234567")
    assert sub.short_message == CYRILLIC.encode("utf-16-be")
    assert smpp_peer.messages() == [("79161234567", CYRILLIC)]


async def test_latin_text_goes_as_gsm7(smpp_peer: SmppPeer, sms_settings: SmsSettings):
    async with SmppSmsGateway(sms_settings) as gateway:
        await gateway.send(sender="Abonent", to=TO, text="Code 4711 {ok}")
    [sub] = smpp_peer.submitted
    assert (sub.data_coding, sub.esm_class) == (0, 0)
    # '{' and '}' are GSM-7 escapes: two octets each.
    assert len(sub.short_message) == len("Code 4711 {ok}") + 2
    assert sub.text == "Code 4711 {ok}"


async def test_long_cyrillic_text_is_three_parts_the_peer_reassembles(
    smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    text = ("Задолженность по услуге «Мобильная связь» " * 5)[:190]
    async with SmppSmsGateway(sms_settings) as gateway:
        sent = await gateway.send_message(sender="Abonent", to=TO, text=text)
    assert len(sent.message_ids) == 3 and sent.data_coding == 8
    subs = smpp_peer.submitted
    assert [s.esm_class for s in subs] == [0x40, 0x40, 0x40]
    assert sorted(s.udh[2] for s in subs if s.udh) == [1, 2, 3]
    assert {s.udh[:2] for s in subs if s.udh} == {(subs[0].udh[0], 3)}  # type: ignore[index]
    # 67 UCS-2 characters a part after the 6-octet UDH: 67 + 67 + 56.
    assert sorted(len(s.body) // 2 for s in subs) == [56, 67, 67]
    assert smpp_peer.messages() == [("79161234567", text)]
    assert set(sent.message_ids) == {s.message_id for s in subs}


async def test_long_gsm7_text_splits_at_153(smpp_peer: SmppPeer, sms_settings: SmsSettings):
    text = "x" * 200
    async with SmppSmsGateway(sms_settings) as gateway:
        sent = await gateway.send_message(sender="Abonent", to=TO, text=text)
    assert len(sent.message_ids) == 2
    assert sorted(len(s.body) for s in smpp_peer.submitted) == [47, 153]
    assert smpp_peer.messages() == [("79161234567", text)]


async def test_submits_are_outstanding_together_up_to_the_window(
    smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    smpp_peer.hold = True
    cfg = sms_settings.model_copy(update={"window": 3})
    async with SmppSmsGateway(cfg) as gateway:
        sends = [
            asyncio.create_task(gateway.send(sender="Abonent", to=TO, text=f"n{i}"))
            for i in range(5)
        ]
        await smpp_peer.wait_until(lambda: len(smpp_peer.held) == 3)
        await asyncio.sleep(0.1)
        assert len(smpp_peer.held) == 3  # the window, not one at a time and not all five
        smpp_peer.release()  # answers the three; the other two go out and are answered at once
        ids = await asyncio.gather(*sends)
    assert sorted(ids) == [f"p00000{i}" for i in range(1, 6)]


async def test_the_same_key_is_submitted_once(smpp_peer: SmppPeer, sms_settings: SmsSettings):
    async with SmppSmsGateway(sms_settings) as gateway:
        first, again = await asyncio.gather(
            gateway.send(sender="Abonent", to=TO, text="Код 1234", idempotency_key="outbox-7"),
            gateway.send(sender="Abonent", to=TO, text="Код 1234", idempotency_key="outbox-7"),
        )
        later = await gateway.send(
            sender="Abonent", to=TO, text="Код 1234", idempotency_key="outbox-7"
        )
        other = await gateway.send(
            sender="Abonent", to=TO, text="Код 1234", idempotency_key="outbox-8"
        )
    assert first == again == later == "p000001"
    assert other == "p000002"
    assert len(smpp_peer.submitted) == 2


@pytest.mark.parametrize(
    ("stat", "state"),
    [("DELIVRD", "delivered"), ("EXPIRED", "expired"), ("UNDELIV", "undeliverable"),
     ("REJECTD", "rejected"), ("ACCEPTD", "accepted"), ("UNKNOWN", "unknown")],
)  # fmt: skip
@pytest.mark.parametrize("tlvs", [True, False], ids=["tlv", "text"])
async def test_receipts_reach_the_callback(
    smpp_peer: SmppPeer, sms_settings: SmsSettings, stat: str, state: str, tlvs: bool
):
    smpp_peer.receipt_tlvs = tlvs
    seen: list[tuple[str, str]] = []
    async with SmppSmsGateway(sms_settings, on_receipt=lambda i, s: seen.append((i, s))) as gw:
        message_id = await gw.send(sender="Abonent", to=TO, text="Привет")
        assert await smpp_peer.send_receipt(message_id, stat) == 0
    assert seen == [(message_id, state)]


async def test_the_tlvs_win_over_the_text(smpp_peer: SmppPeer, sms_settings: SmsSettings):
    seen: list[tuple[str, str]] = []
    async with SmppSmsGateway(sms_settings, on_receipt=lambda i, s: seen.append((i, s))) as gw:
        message_id = await gw.send(sender="Abonent", to=TO, text="Привет")
        sub = smpp_peer.submitted[0]
        esme = next(iter(smpp_peer.sessions.values()))
        import smpp34

        await esme.deliver_sm(
            sub.source_addr,
            f"id:{message_id} stat:UNDELIV".encode(),
            esm_class=0x04,
            tlvs=[
                smpp34.Tlv(0x001E, message_id.encode() + b"\x00"),
                smpp34.Tlv(TLV_MESSAGE_STATE, bytes([2])),
            ],
        )
    assert seen == [(message_id, "delivered")]


async def test_a_receipt_the_callback_cannot_record_is_refused_for_a_resend(
    smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    answers = iter([False, True])
    async with SmppSmsGateway(sms_settings, on_receipt=lambda i, s: next(answers)) as gw:
        message_id = await gw.send(sender="Abonent", to=TO, text="Привет")
        assert await smpp_peer.send_receipt(message_id) == 0x64  # ESME_RX_T_APPN: try later
        assert await smpp_peer.send_receipt(message_id) == 0


async def test_a_dropped_bind_is_recovered(smpp_peer: SmppPeer, sms_settings: SmsSettings):
    async with SmppSmsGateway(sms_settings) as gateway:
        await gateway.send(sender="Abonent", to=TO, text="before")
        assert gateway.link.binds == 1
        down = asyncio.create_task(smpp_peer.restart(down_for=0.4))
        await smpp_peer.wait_until(lambda: not gateway.link.bound)
        # Sent while the SMSC is away: it waits for the rebind instead of failing.
        during = asyncio.create_task(gateway.send(sender="Abonent", to=TO, text="during"))
        await down
        assert await asyncio.wait_for(during, 5)
        await gateway.send(sender="Abonent", to=TO, text="after")
        assert gateway.link.binds == 2
    assert [text for _, text in smpp_peer.messages()] == ["before", "during", "after"]


async def test_an_unbind_from_the_smsc_is_followed_by_a_new_bind(
    smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    async with SmppSmsGateway(sms_settings) as gateway:
        await gateway.send(sender="Abonent", to=TO, text="one")
        await smpp_peer.unbind_all()
        await smpp_peer.wait_until(lambda: gateway.link.binds == 2 and gateway.link.bound)
        await gateway.send(sender="Abonent", to=TO, text="two")
    assert smpp_peer.bind_count == 2
    assert [text for _, text in smpp_peer.messages()] == ["one", "two"]


async def test_throttling_slows_down_and_resends(smpp_peer: SmppPeer, sms_settings: SmsSettings):
    smpp_peer.throttle_next(3)
    loop = asyncio.get_running_loop()
    async with SmppSmsGateway(sms_settings) as gateway:
        await gateway.link.wait_bound()
        started = loop.time()
        message_id = await gateway.send(sender="Abonent", to=TO, text="Привет")
        took = loop.time() - started
    assert [s.status for s in smpp_peer.submitted] == [0x58, 0x58, 0x58, 0]
    assert message_id == smpp_peer.submitted[-1].message_id
    assert gateway.link.throttled == 3
    # Backoff 0.05, 0.1, 0.2 (capped at 0.2): it waited rather than hammering the SMSC.
    assert took >= 0.3


async def test_a_refusal_is_raised_not_retried(smpp_peer: SmppPeer, sms_settings: SmsSettings):
    smpp_peer.refuse["79161234567"] = 0x0B  # ESME_RINVDSTADR
    async with SmppSmsGateway(sms_settings) as gateway:
        with pytest.raises(SubmitRefused) as refused:
            await gateway.send(sender="Abonent", to=TO, text="Привет")
    assert refused.value.status == 0x0B
    assert len(smpp_peer.submitted) == 1


async def test_a_bind_with_an_unknown_system_id_sends_nothing(
    smpp_peer: SmppPeer, sms_settings: SmsSettings
):
    cfg = sms_settings.model_copy(update={"system_id": "intruder"})
    async with SmppSmsGateway(cfg) as gateway:
        with pytest.raises(SmppError):
            await asyncio.wait_for(gateway.send(sender="Abonent", to=TO, text="x"), 15)
    assert "intruder" in smpp_peer.rejected_binds
    assert smpp_peer.accepted == []


async def test_no_smsc_listening_means_link_down(sms_settings: SmsSettings):
    from tests.smpp.peer import free_port

    cfg = sms_settings.model_copy(update={"port": free_port()})
    gateway = SmppSmsGateway(cfg)
    try:
        with pytest.raises(LinkDown):
            await gateway.link.wait_bound(within=0.3)
    finally:
        await gateway.close()


async def test_the_password_never_reaches_a_log(
    smpp_peer: SmppPeer,
    sms_settings: SmsSettings,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
):
    cfg = sms_settings.model_copy(update={"password": SecretStr("Pw9zQ")})
    caplog.set_level(logging.DEBUG)
    async with SmppSmsGateway(cfg) as gateway:
        await gateway.send(sender="Abonent", to=TO, text="hello")
        await smpp_peer.restart(down_for=0.2)
        await gateway.send(sender="Abonent", to=TO, text="again")
    logged = caplog.text + "".join(capsys.readouterr())
    # The wire logger did log at DEBUG (its PDU descriptions), just never the hex dumps.
    assert any(
        r.name == "abonent.smpp.wire" and "Sending" in r.getMessage() for r in caplog.records
    )
    assert "smpp.bound" in logged
    assert "Pw9zQ" not in logged
    assert b"Pw9zQ".hex() not in logged
    assert "Pw9zQ" not in repr(cfg)


def test_gateway_from_picks_smpp_and_needs_credentials():
    settings = Settings(sms=SmsSettings(gateway="smpp", system_id="a", password=SecretStr("b")))
    assert isinstance(gateway_from(settings), SmppSmsGateway)
    with pytest.raises(SmppConfigurationError):
        gateway_from(Settings(sms=SmsSettings(gateway="smpp")))
