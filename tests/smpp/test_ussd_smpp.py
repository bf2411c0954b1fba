"""USSD over SMPP against the real peer playing the USSD centre: open → menu → reply → close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from abonent.channels.ussd.smpp import EXPIRED_TEXT, UNAVAILABLE_TEXT, UssdSmppApp, UssdStep
from abonent.config import UssdSmppSettings
from tests.smpp.peer import TLV_ITS_SESSION_INFO, TLV_USSD_SERVICE_OP, SmppPeer

MSISDN = "79161234567"
MENU = "Баланс: 120,50 ₽\n1. Подробнее по SMS\n3. Обещанный платёж"
OFFER = "Обещанный платёж:\n1. 100 ₽\n2. 300 ₽"
TAKEN = "Обещанный платёж 100 ₽ подключён до 21.11.2026"


@dataclass(frozen=True)
class Reply:
    text: str
    end: bool


class Engine:
    """A stand-in for abonent.ussd.service.answer: the same inputs, fixed screens."""

    def __init__(self) -> None:
        self.steps: list[UssdStep] = []

    async def __call__(self, step: UssdStep) -> Reply:
        self.steps.append(step)
        if step.text == "boom":
            raise RuntimeError("engine failure")
        screens = {"": Reply(MENU, False), "3": Reply(OFFER, False), "3*1": Reply(TAKEN, True)}
        return screens.get(step.text, Reply("Balance 120.50 RUB", True))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(smpp_peer: SmppPeer, engine: Engine, clock: Clock) -> AsyncIterator[UssdSmppApp]:
    cfg = UssdSmppSettings(
        host=smpp_peer.host,
        port=smpp_peer.port,
        system_id=smpp_peer.system_id,
        password=SecretStr(smpp_peer.password),
        reconnect_backoff_seconds=0.05,
    )
    async with UssdSmppApp(cfg, engine, monotonic=clock) as ussd:
        await ussd.link.wait_bound()
        await smpp_peer.wait_until(lambda: smpp_peer.sessions)
        yield ussd


async def _answer(peer: SmppPeer, count: int):  # type: ignore[no-untyped-def]
    await peer.wait_until(lambda: len(peer.ussd_answers()) >= count)
    return peer.ussd_answers()[count - 1]


async def test_open_menu_reply_close(app: UssdSmppApp, smpp_peer: SmppPeer, engine: Engine):
    assert await smpp_peer.ussd(MSISDN, "*100*3#", op=1, session=0x2A00) == 0
    menu = await _answer(smpp_peer, 1)
    assert menu.tlv_int(TLV_USSD_SERVICE_OP) == 2  # USSR request: a menu, waiting for input
    assert menu.tlv_int(TLV_ITS_SESSION_INFO) == 0x2A00  # echoed
    assert (menu.destination_addr, menu.data_coding, menu.text) == (MSISDN, 8, MENU)

    await smpp_peer.ussd(MSISDN, "3", op=18, session=0x2A02)
    offer = await _answer(smpp_peer, 2)
    assert (offer.tlv_int(TLV_USSD_SERVICE_OP), offer.text) == (2, OFFER)
    assert offer.tlv_int(TLV_ITS_SESSION_INFO) == 0x2A02

    await smpp_peer.ussd(MSISDN, "1", op=18, session=0x2A04)
    taken = await _answer(smpp_peer, 3)
    assert (taken.tlv_int(TLV_USSD_SERVICE_OP), taken.text) == (17, TAKEN)  # PSSR response: end

    assert [(s.msisdn, s.service_code, s.text) for s in engine.steps] == [
        ("+79161234567", "*100*3#", ""),
        ("+79161234567", "*100*3#", "3"),
        ("+79161234567", "*100*3#", "3*1"),
    ]
    assert len({s.session_id for s in engine.steps}) == 1
    assert app.open_dialogues == 0

    # The dialogue is closed: a late answer gets the closing screen, the engine is not asked.
    await smpp_peer.ussd(MSISDN, "2", op=18, session=0x2A06)
    late = await _answer(smpp_peer, 4)
    assert (late.tlv_int(TLV_USSD_SERVICE_OP), late.text) == (17, EXPIRED_TEXT)
    assert len(engine.steps) == 3


async def test_two_subscribers_at_once_keep_apart(
    app: UssdSmppApp, smpp_peer: SmppPeer, engine: Engine
):
    await asyncio.gather(
        smpp_peer.ussd(MSISDN, "*100#", op=1, session=0x0100),
        smpp_peer.ussd("79260000001", "*100#", op=1, session=0x0100),
    )
    await _answer(smpp_peer, 2)
    await smpp_peer.ussd("79260000001", "3", op=18, session=0x0100)
    await _answer(smpp_peer, 3)
    by_number = {s.msisdn: s for s in engine.steps if s.text == "3"}
    assert list(by_number) == ["+79260000001"]
    assert app.open_dialogues == 2
    assert len({s.session_id for s in engine.steps}) == 2


async def test_an_idle_dialogue_expires(
    app: UssdSmppApp, smpp_peer: SmppPeer, engine: Engine, clock: Clock
):
    await smpp_peer.ussd(MSISDN, "*100#", op=1, session=0x0700)
    await _answer(smpp_peer, 1)
    clock.now += 181
    await smpp_peer.ussd(MSISDN, "3", op=18, session=0x0700)
    expired = await _answer(smpp_peer, 2)
    assert (expired.tlv_int(TLV_USSD_SERVICE_OP), expired.text) == (17, EXPIRED_TEXT)
    assert [s.text for s in engine.steps] == [""]


async def test_an_engine_failure_closes_with_an_apology(
    app: UssdSmppApp, smpp_peer: SmppPeer, engine: Engine
):
    await smpp_peer.ussd(MSISDN, "*100#", op=1, session=0x0300)
    await _answer(smpp_peer, 1)
    await smpp_peer.ussd(MSISDN, "boom", op=18, session=0x0300)
    sorry = await _answer(smpp_peer, 2)
    assert (sorry.tlv_int(TLV_USSD_SERVICE_OP), sorry.text) == (17, UNAVAILABLE_TEXT)
    assert app.open_dialogues == 0  # the apology closed the dialogue


async def test_a_latin_screen_goes_as_gsm7(app: UssdSmppApp, smpp_peer: SmppPeer):
    await smpp_peer.ussd(MSISDN, "*100#", op=1, session=0x0400)
    await _answer(smpp_peer, 1)
    await smpp_peer.ussd(MSISDN, "9", op=18, session=0x0400)
    closing = await _answer(smpp_peer, 2)
    assert (closing.data_coding, closing.text) == (0, "Balance 120.50 RUB")


async def test_the_op_codes_come_from_configuration(smpp_peer: SmppPeer, engine: Engine):
    cfg = UssdSmppSettings(
        port=smpp_peer.port, system_id=smpp_peer.system_id, password=SecretStr("x"),
        op_begin=1, op_continue=18, op_menu=3, op_close=16,
    )  # fmt: skip
    async with UssdSmppApp(cfg, engine) as ussd:
        await ussd.link.wait_bound()
        await smpp_peer.wait_until(lambda: smpp_peer.sessions)
        await smpp_peer.ussd(MSISDN, "*100#", op=1, session=0x0500)
        assert (await _answer(smpp_peer, 1)).tlv_int(TLV_USSD_SERVICE_OP) == 3
        await smpp_peer.ussd(MSISDN, "3", op=18, session=0x0500)
        await smpp_peer.ussd(MSISDN, "1", op=18, session=0x0500)
        assert (await _answer(smpp_peer, 3)).tlv_int(TLV_USSD_SERVICE_OP) == 16
