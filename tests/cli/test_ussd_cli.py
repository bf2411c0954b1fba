"""``abonent ussd smpp`` as an operator runs it: bound to the USSD centre (the real SMPP peer of
tests/smpp/peer.py), it answers a subscriber's *100# from the database until SIGTERM, then unbinds
and exits 0; without its credentials it is refused at once (both databases)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from tests.api.helpers import snapshot
from tests.promised.helpers import ledger_counts, subscriber
from tests.smpp.peer import TLV_ITS_SESSION_INFO, TLV_USSD_SERVICE_OP, SmppPeer

runner = CliRunner()
SRC = Path(__file__).resolve().parents[2] / "src"
PSSR_RESPONSE = 17
PASSWORD = "Ussd-pw-8817"


def said(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
async def centre() -> AsyncIterator[SmppPeer]:
    peer = await SmppPeer(system_id="abonent-ussd", password=PASSWORD).start()
    yield peer
    await peer.stop()


async def test_serves_a_balance_until_sigterm_then_unbinds(
    db: Database, db_url: str, clock: FrozenClock, centre: SmppPeer
) -> None:
    account, (sim,) = await subscriber(db, clock)  # 250 ₽ overdue on its SIM
    msisdn = (sim.msisdn or "").lstrip("+")
    async with db.session() as s:
        before = await ledger_counts(s)
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "ABONENT_DATABASE_URL": db_url,
        "ABONENT_USSD_SMPP__HOST": centre.host,
        "ABONENT_USSD_SMPP__PORT": str(centre.port),
        "ABONENT_USSD_SMPP__SYSTEM_ID": centre.system_id,
        "ABONENT_USSD_SMPP__PASSWORD": PASSWORD,
        "ABONENT_USSD_SMPP__RECONNECT_BACKOFF_SECONDS": "0.05",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "abonent.cli.main",
        "ussd",
        "smpp",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await centre.wait_until(lambda: centre.sessions, within=60)
        assert await centre.ussd(msisdn, "*100#", op=1, session=0x3300) == 0
        await centre.wait_until(lambda: centre.ussd_answers(), within=30)
        [balance] = centre.ussd_answers()
        assert balance.destination_addr == msisdn
        assert balance.tlv_int(TLV_USSD_SERVICE_OP) == PSSR_RESPONSE
        assert balance.tlv_int(TLV_ITS_SESSION_INFO) == 0x3300
        assert balance.text.startswith("Долг 250,00 ₽\n")
        assert f"ЛС {account.number}" in balance.text

        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert said(out.decode()) == (
        f"USSD over SMPP: binding to {centre.host}:{centre.port} as 'abonent-ussd'"
    )
    assert "Traceback" not in err.decode()
    assert PASSWORD not in out.decode() + err.decode()
    # It ended its bind itself (an unbind), and the inquiry posted nothing.
    await centre.wait_until(lambda: not centre.sessions, within=5)
    assert centre.bind_count == 1
    async with db.session() as s:
        assert await ledger_counts(s) == before


@pytest.mark.parametrize("missing", ["ABONENT_USSD_SMPP__PASSWORD", "ABONENT_USSD_SMPP__SYSTEM_ID"])
async def test_without_its_credentials_it_is_refused(
    db: Database, env_db: str, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("ABONENT_USSD_SMPP__SYSTEM_ID", "abonent-ussd")
    monkeypatch.setenv("ABONENT_USSD_SMPP__PASSWORD", PASSWORD)
    monkeypatch.delenv(missing)
    before = await snapshot(db)
    result = await asyncio.to_thread(runner.invoke, app, ["ussd", "smpp"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert said(result.stderr) == (
        "error [invalid_settings]: USSD over SMPP needs ABONENT_USSD_SMPP__SYSTEM_ID and "
        "ABONENT_USSD_SMPP__PASSWORD"
    )
    assert result.stdout == ""  # it never said it was binding
    assert PASSWORD not in result.output
    assert await snapshot(db) == before
