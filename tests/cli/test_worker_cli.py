"""``abonent worker run [--once]`` as an operator runs it (both databases).

With --once the relay delivers what is due and says how it went; without it the worker runs in
its own process until Ctrl+C or SIGTERM, delivering while it runs, and stops cleanly. A gateway
it cannot use is refused before anything is claimed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.models import OutboxMessage, SmsMessage
from abonent.outbox import service as outbox
from tests.sms.helpers import queue_sms

runner = CliRunner()
SRC = Path(__file__).resolve().parents[2] / "src"


def said(text: str) -> str:
    return " ".join(text.split())


def _in(url: str, work: Any) -> Any:
    async def go() -> Any:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


async def _malformed_sms(db: Database) -> int:
    async def work(session):  # type: ignore[no-untyped-def]
        message = await outbox.enqueue(session, outbox.SMS_SEND, {"text": "no number"})
        assert message is not None
        await session.flush()
        return message.id

    return int(await db.run(work))


async def _outbox(db: Database) -> dict[int, tuple[str, int]]:
    async with db.session() as s:
        rows = await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return {m.id: (m.status, m.attempts) for m in rows}


async def _sms_rows(db: Database) -> list[tuple[str, str]]:
    async with db.session() as s:
        return [(m.to_msisdn, m.status) for m in await s.scalars(select(SmsMessage))]


def test_once_delivers_what_is_due_and_counts_it(
    env_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABONENT_SMS__GATEWAY", "memory")
    good = _in(env_db, lambda db: queue_sms(db, "+79161234567", "Оплата 350,00 ₽ зачислена"))
    bad = _in(env_db, _malformed_sms)

    first = runner.invoke(app, ["worker", "run", "--once"])
    assert first.exit_code == 0, first.output
    assert said(first.stdout) == "delivered 1, will retry 0, dead 1"
    statuses = _in(env_db, _outbox)
    assert statuses[good][0] == "done" and statuses[bad][0] == "dead"
    assert _in(env_db, _sms_rows) == [("+79161234567", "sent")]

    # Nothing is due any more: a second run sends nothing and changes nothing.
    again = runner.invoke(app, ["worker", "run", "--once"])
    assert again.exit_code == 0, again.output
    assert said(again.stdout) == "delivered 0, will retry 0, dead 0"
    assert _in(env_db, _outbox) == statuses
    assert _in(env_db, _sms_rows) == [("+79161234567", "sent")]


def test_an_smpp_gateway_without_credentials_is_refused_and_nothing_is_claimed(
    env_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABONENT_SMS__GATEWAY", "smpp")
    monkeypatch.delenv("ABONENT_SMS__SYSTEM_ID", raising=False)
    monkeypatch.delenv("ABONENT_SMS__PASSWORD", raising=False)
    queued = _in(env_db, queue_sms)
    before = _in(env_db, _outbox)

    result = runner.invoke(app, ["worker", "run", "--once"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert said(result.stderr) == (
        "error [invalid_settings]: the SMPP gateway needs ABONENT_SMS__SYSTEM_ID and "
        "ABONENT_SMS__PASSWORD"
    )
    assert _in(env_db, _outbox) == before
    assert before[queued] == ("pending", 0)


def _wait_for(condition: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_run_delivers_while_it_runs_and_ctrl_c_stops_it(db_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "ABONENT_DATABASE_URL": db_url,
        "ABONENT_SMS__GATEWAY": "memory",
        "ABONENT_WORKER__POLL_SECONDS": "0.1",
        "ABONENT_WORKER__SETTLE_EVERY_SECONDS": "600",
    }
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "-m", "abonent.cli.main", "worker", "run"],
            env=env,
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
        try:
            _wait_for(lambda: "Ctrl+C stops it" in out.read_text(), 60, "the worker to start")
            # Queued after the worker started: the running relay picks it up.
            queued = _in(db_url, lambda db: queue_sms(db, "+79161234567", "Долг 120,00 ₽"))
            _wait_for(
                lambda: _in(db_url, _outbox)[queued][0] == "done", 30, "the SMS to be delivered"
            )
            worker.send_signal(signal.SIGINT)
            code = worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert code == 0, err.read_text()
    assert said(out.read_text()) == (
        "outbox relay running; card settlement every 600 s; Ctrl+C stops it"
    )
    assert "Traceback" not in err.read_text()
    assert _in(db_url, _sms_rows) == [("+79161234567", "sent")]
