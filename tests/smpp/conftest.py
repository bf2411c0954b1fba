"""The SMPP peer (tests/smpp/peer.py) on a free port of 127.0.0.1, one per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from abonent.config import SmsSettings
from tests.smpp.peer import SmppPeer


@pytest.fixture
async def smpp_peer() -> AsyncIterator[SmppPeer]:
    peer = await SmppPeer(system_id="abonent").start()
    yield peer
    await peer.stop()


@pytest.fixture
def sms_settings(smpp_peer: SmppPeer) -> SmsSettings:
    return SmsSettings(
        gateway="smpp",
        host=smpp_peer.host,
        port=smpp_peer.port,
        system_id=smpp_peer.system_id,
        password=SecretStr(smpp_peer.password),
        window=8,
        reconnect_backoff_seconds=0.05,
        reconnect_backoff_max_seconds=0.2,
        throttle_backoff_seconds=0.05,
        throttle_backoff_max_seconds=0.2,
        response_timeout_seconds=5,
    )
