"""SMS relayed over SMPP to the local peer, against a bare smpplib send loop to the same peer.

The peer (tests/smpp/peer.py on smpp34) runs in its own process and answers every submit_sm.
Both sides send the same one-part Cyrillic SMS (UCS-2) with registered_delivery 1 and no
receipts coming back, from this process:

- floor: a bare smpplib client, bound as transceiver, keeping ``WINDOW`` submit_sm outstanding
  (send while fewer are outstanding, else read a response) — the most one smpplib bind does;
- relayed: ``COUNT`` ``sms.send`` messages in the outbox of a scratch PostgreSQL database,
  delivered by the path of ``abonent worker run``: ``Relay(db, settings,
  default_handlers(settings, gateway, db))`` through ``SmppSmsGateway``. Each batch of ``BATCH``
  is claimed in one unit, handed to one ``relay_sms_batch`` call (the submits with no
  transaction open, one unit recording sms_messages), and its outcomes recorded in one more
  unit; four batches are in flight at once (the relay's default).

Also printed (informational): the gateway alone with ``WINDOW`` concurrent sends and no
database (``sms_gateway_ratio``).

Also printed (informational): this process's CPU time per SMS in the bare loop and in the relay
(``sms_cpu_ratio``), steadier than the wall clock when the machine is shared.

``ROUNDS`` relay runs alternate with bare loops (one bare loop first); the ratio is the median
relay rate over the median bare rate.

Target: relayed / floor >= 0.5. Last line: ``sms_ratio=<x>``.
Knobs: BENCH_SMS_COUNT (2000), BENCH_SMS_WINDOW (10), BENCH_SMS_BATCH (100),
BENCH_SMS_ROUNDS (3).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pydantic import SecretStr
from smpplib import client as smpp_client
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from _common import ROOT, free_port, say, scratch_database
from abonent.channels.sms.smpp import SmppSmsGateway
from abonent.config import Settings, SmsSettings, WorkerSettings
from abonent.db.uow import Database
from abonent.models import OutboxMessage, SmsMessage
from abonent.outbox import service as outbox
from abonent.worker.relay import Relay, default_handlers

COUNT = int(os.environ.get("BENCH_SMS_COUNT", "2000"))
BATCH = int(os.environ.get("BENCH_SMS_BATCH", "100"))
WINDOW = int(os.environ.get("BENCH_SMS_WINDOW", "10"))
ROUNDS = int(os.environ.get("BENCH_SMS_ROUNDS", "3"))
TEXT = "Платёж 500,00 ₽ зачислен на лицевой счёт ****1234. Баланс: 120,50 ₽."
SYSTEM_ID, PASSWORD = "abonent", "bench"


@contextlib.contextmanager
def peer_process(port: int) -> Iterator[None]:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}:{ROOT / 'src'}")
    command = [sys.executable, "-m", "tests.smpp.peer", "--port", str(port), "--receipts", ""]
    proc = subprocess.Popen(
        [*command, "--quiet", "--system-id", SYSTEM_ID], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the SMPP peer did not start")
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


# This process's CPU seconds per phase (informational: steadier than the wall clock on a shared
# machine; the peer and PostgreSQL run in processes of their own and are not counted).
CPU: dict[str, float] = {}


def bare_smpplib(port: int, count: int) -> float:
    """Messages per second of a windowed smpplib loop."""
    client = smpp_client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    answered = 0

    def on_resp(pdu: object, **_: object) -> None:
        nonlocal answered
        answered += 1

    client.set_message_sent_handler(on_resp)
    client.connect()
    # As SmppSmsGateway does: without it a lone submit waits out Nagle against delayed ACKs.
    client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.bind_transceiver(system_id=SYSTEM_ID, password=PASSWORD)
    body = TEXT.encode("utf-16-be")
    started = time.perf_counter()
    cpu = time.process_time()
    sent = 0
    while answered < count:
        if sent < count and sent - answered < WINDOW:
            client.send_message(
                source_addr_ton=5, source_addr_npi=0, source_addr="Abonent",
                dest_addr_ton=1, dest_addr_npi=1, destination_addr="79161234567",
                short_message=body, data_coding=8, registered_delivery=1,
            )  # fmt: skip
            sent += 1
        else:
            client.read_once()
    elapsed = time.perf_counter() - started
    CPU["floor"] = CPU.get("floor", 0.0) + (time.process_time() - cpu) / count
    with contextlib.suppress(Exception):
        client.unbind()
    client.disconnect()
    return count / elapsed


def sms_settings(port: int) -> SmsSettings:
    return SmsSettings(
        gateway="smpp", port=port, system_id=SYSTEM_ID, password=SecretStr(PASSWORD), window=WINDOW
    )


async def gateway_alone(port: int, count: int) -> float:
    async with SmppSmsGateway(sms_settings(port)) as gateway:
        await gateway.link.wait_bound()
        queue = iter(range(count))

        async def sender() -> None:
            for n in queue:
                await gateway.send(
                    sender="Abonent", to="+79161234567", text=TEXT, idempotency_key=str(n)
                )

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(WINDOW)))
        return count / (time.perf_counter() - started)


async def _relayed_counts(session: AsyncSession) -> tuple[int, int]:
    """SMS recorded as sent, outbox messages done: a round adds ``count`` to each."""
    recorded = await session.scalar(
        select(func.count()).select_from(SmsMessage).where(SmsMessage.status == "sent")
    )
    done = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "done")
    )
    return int(recorded or 0), int(done or 0)


async def relayed(url: str, port: int, count: int) -> float:
    db = Database(url)
    try:
        async with db.session() as session:
            before = await _relayed_counts(session)
        async with db.session(write=True) as session:
            for _ in range(count):
                await outbox.enqueue(session, outbox.SMS_SEND, {"to": "+79161234567", "text": TEXT})
        settings = Settings(
            worker=WorkerSettings(max_attempts=3, batch_size=BATCH), sms=sms_settings(port)
        )
        async with SmppSmsGateway(settings.sms) as gateway:
            await gateway.link.wait_bound()
            relay = Relay(db, settings, default_handlers(settings, gateway, db))
            started = time.perf_counter()
            cpu = time.process_time()
            stats = await relay.drain()
            elapsed = time.perf_counter() - started
            CPU["relay"] = CPU.get("relay", 0.0) + (time.process_time() - cpu) / count
        async with db.session() as session:
            after = await _relayed_counts(session)
        recorded, done = after[0] - before[0], after[1] - before[1]
        if stats.delivered != count or recorded != count or done != count:
            raise RuntimeError(f"relayed {stats.delivered}, recorded {recorded}, done {done}")
        return count / elapsed
    finally:
        await db.dispose()


def main() -> None:
    port = free_port()
    say(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    floors: list[float] = []
    rates: list[float] = []
    with peer_process(port):
        bare_smpplib(port, 200)  # warm-up: the peer's first binds and allocations
        CPU.clear()
        floors.append(bare_smpplib(port, COUNT))
        say(f"bare smpplib loop (window {WINDOW}): {floors[-1]:,.0f} SMS/s")
        alone = asyncio.run(gateway_alone(port, COUNT))
        say(f"SmppSmsGateway alone, {WINDOW} concurrent sends: {alone:,.0f} SMS/s")
        with scratch_database("sms") as url:
            # Alternating rounds, the floor measured before and after each relay run: a run
            # takes about a second, and single pairs swung by a third on an idle machine.
            for round_ in range(1, ROUNDS + 1):
                rates.append(asyncio.run(relayed(url, port, COUNT)))
                floors.append(bare_smpplib(port, COUNT))
                say(
                    f"round {round_}: outbox relay (batch {BATCH}) -> relay_sms_batch -> "
                    f"SmppSmsGateway {rates[-1]:,.0f} SMS/s, bare smpplib loop {floors[-1]:,.0f}"
                )
    floor, rate = statistics.median(floors), statistics.median(rates)
    floor_cpu = CPU["floor"] / len(floors)
    relay_cpu = CPU["relay"] / len(rates)
    say(f"medians: relay {rate:,.0f} SMS/s, bare loop {floor:,.0f} SMS/s")
    say(
        f"this process's CPU per SMS: bare loop {floor_cpu * 1e6:.0f} us, "
        f"relay {relay_cpu * 1e6:.0f} us (sms_cpu_ratio={floor_cpu / relay_cpu:.3f})"
    )
    say(f"sms_gateway_ratio={alone / floor:.3f}")
    say(f"sms_ratio={rate / floor:.3f}")


if __name__ == "__main__":
    main()
