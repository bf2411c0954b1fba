"""``abonent sms list|show`` and ``abonent ussd smpp`` refusing to start without credentials."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.sms import service as sms
from tests.sms.helpers import queue_sms

runner = CliRunner()


def said(text: str) -> str:
    return " ".join(text.split())


def setup(url: str) -> tuple[int, int]:
    async def go() -> tuple[int, int]:
        db = Database(url)
        try:
            a = await queue_sms(db, "+79161234567")
            b = await queue_sms(db, "+79260000001")
            sent = await db.run(
                lambda s: sms.record_sent(
                    s, outbox_message_id=a, to="+79161234567", category="service",
                    gateway_message_ids=("p1", "p2"),
                )
            )  # fmt: skip
            await db.run(lambda s: sms.apply_receipt(s, "p1", "delivered"))
            failed = await db.run(
                lambda s: sms.mark_failed(
                    s, outbox_message_id=b, to="+79260000001", category="debt",
                    reason="submit_sm refused: 0x0000000B",
                )
            )  # fmt: skip
            return sent.id, failed.id
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_list_masks_numbers_and_filters_by_status(env_db: str):
    sent_id, failed_id = setup(env_db)
    everything = runner.invoke(app, ["sms", "list"])
    assert everything.exit_code == 0, everything.output
    lines = everything.output.strip().splitlines()
    assert [line.split()[:3] for line in lines] == [
        [str(failed_id), "failed", "debt"],
        [str(sent_id), "sent", "service"],
    ]
    assert "+7 916 ***-**-67" in everything.output and "+79161234567" not in everything.output
    assert "0x0000000B" in everything.output
    only_failed = runner.invoke(app, ["sms", "list", "--status", "failed"])
    assert [line.split()[0] for line in only_failed.output.strip().splitlines()] == [str(failed_id)]


def test_show_gives_each_part(env_db: str):
    sent_id, _ = setup(env_db)
    shown = runner.invoke(app, ["sms", "show", str(sent_id)])
    assert shown.exit_code == 0, shown.output
    text = said(shown.output)
    assert "status sent" in text and "parts 2" in text
    assert "1. p1 delivered" in text and "2. p2 no receipt" in text
    assert "+7 916 ***-**-67" in text and "+79161234567" not in text


def test_refusals_exit_1(env_db: str):
    setup(env_db)
    unknown = runner.invoke(app, ["sms", "show", "999"])
    assert unknown.exit_code == 1 and "sms_not_found" in said(unknown.output)
    bad = runner.invoke(app, ["sms", "list", "--status", "lost"])
    assert bad.exit_code == 1 and "sms_status" in said(bad.output)


def test_ussd_smpp_needs_credentials(env_db: str, monkeypatch):
    monkeypatch.delenv("ABONENT_USSD_SMPP__PASSWORD", raising=False)
    result = runner.invoke(app, ["ussd", "smpp"])
    assert result.exit_code == 1
    assert "ABONENT_USSD_SMPP__PASSWORD" in said(result.output)
