"""USSD over SMPP with the real dialogue engine: the peer plays the USSD centre, the screens and
the promised payment are the ones the HTTP callback gives (tests/ussd/test_http.py)."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy import select

from abonent.channels.ussd.smpp import UssdSmppApp, engine_answer
from abonent.config import UssdSmppSettings, get_settings
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import PromisedPayment
from tests.promised.helpers import ledger_counts, subscriber
from tests.smpp.peer import TLV_ITS_SESSION_INFO, TLV_USSD_SERVICE_OP, SmppPeer

PSSR_RESPONSE, USSR_REQUEST = 17, 2


async def _answer(peer: SmppPeer, count: int):  # type: ignore[no-untyped-def]
    await peer.wait_until(lambda: len(peer.ussd_answers()) >= count)
    return peer.ussd_answers()[count - 1]


async def test_balance_then_promised_payment_over_smpp(
    db: Database, clock: FrozenClock, smpp_peer: SmppPeer
) -> None:
    account, (sim,) = await subscriber(db, clock)  # 250 ₽ overdue on its SIM
    msisdn = (sim.msisdn or "").lstrip("+")
    cfg = UssdSmppSettings(
        host=smpp_peer.host,
        port=smpp_peer.port,
        system_id=smpp_peer.system_id,
        password=SecretStr(smpp_peer.password),
        reconnect_backoff_seconds=0.05,
    )
    async with db.session() as s:
        before = await ledger_counts(s)
    async with UssdSmppApp(cfg, engine_answer(db, get_settings())) as ussd:
        await ussd.link.wait_bound()
        await smpp_peer.wait_until(lambda: smpp_peer.sessions)

        await smpp_peer.ussd(msisdn, "*100#", op=1, session=0x1100)
        balance = await _answer(smpp_peer, 1)
        assert balance.tlv_int(TLV_USSD_SERVICE_OP) == PSSR_RESPONSE
        assert balance.tlv_int(TLV_ITS_SESSION_INFO) == 0x1100
        assert balance.data_coding == 8  # Cyrillic: UCS-2
        assert balance.text.startswith("Долг 250,00 ₽\n")
        assert f"ЛС {account.number}" in balance.text
        async with db.session() as s:
            assert await ledger_counts(s) == before  # an inquiry posts nothing

        await smpp_peer.ussd(msisdn, "*100*3#", op=1, session=0x2200)
        menu = await _answer(smpp_peer, 2)
        assert menu.tlv_int(TLV_USSD_SERVICE_OP) == USSR_REQUEST
        assert menu.text.startswith("Обещанный платёж до 21.11:\n1 100 ₽, +10 ₽\n")

        await smpp_peer.ussd(msisdn, "1", op=18, session=0x2202)
        taken = await _answer(smpp_peer, 3)
        assert taken.tlv_int(TLV_USSD_SERVICE_OP) == PSSR_RESPONSE
        assert taken.tlv_int(TLV_ITS_SESSION_INFO) == 0x2202
        assert taken.text.startswith("Обещанный платёж 100,00 ₽ подключён\n")
    async with db.session() as s:
        taken_rows = (
            await s.scalars(select(PromisedPayment).where(PromisedPayment.account_id == account.id))
        ).all()
    assert [(p.amount_minor, p.fee_minor, p.status) for p in taken_rows] == [
        (10_000, 1_000, "in_force")
    ]
