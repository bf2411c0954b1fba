"""`abonent demo load` prints USSD lines that work as printed."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import unquote

import httpx
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database

runner = CliRunner()


def test_demo_prints_working_ussd_lines(env_db: str) -> None:
    result = runner.invoke(app, ["demo", "load", "--seed", "5", "--customers", "20"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "/ussd/callback" in line]
    assert len(lines) == 4
    calls = [
        dict(re.findall(r"-d (\w+)=(\S*)", line)) for line in lines
    ]  # sessionId, serviceCode, phoneNumber, text

    async def dial_all() -> list[str]:
        from abonent.app import create_app

        db = Database(env_db)
        try:
            transport = httpx.ASGITransport(app=create_app(db), client=("127.0.0.1", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                answers = []
                for call in calls:
                    form = {k: unquote(v) for k, v in call.items()}
                    r = await c.post("/ussd/callback", data=form)
                    assert r.status_code == 200
                    answers.append(r.text)
                return answers
        finally:
            await db.dispose()

    answers = asyncio.run(dial_all())
    assert answers[0].startswith("END ") and "ЛС " in answers[0]
    assert answers[1].startswith("END Долг ")
    assert answers[2].startswith("CON Обещанный платёж до ")
    assert answers[3].startswith("END Обещанный платёж ") and "подключён" in answers[3]
