from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from abonent.app import create_app
from abonent.db.uow import Database
from abonent.kit import logs


@pytest.fixture
def app(db: Database) -> FastAPI:
    return create_app(db)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[LogLines]:
    logs.configure(json=True, level="INFO")
    capsys.readouterr()
    yield LogLines(capsys)


class LogLines:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.text = ""

    def read(self) -> list[dict[str, object]]:
        captured = self.capsys.readouterr()
        self.text += captured.err + captured.out
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]
