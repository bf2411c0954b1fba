"""Helpers for the OSMP suite: agents, a protocol client, and a snapshot of what money touched."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.models import (
    AccountBalance,
    Allocation,
    AuditEvent,
    JournalEntry,
    OpenItem,
    OutboxMessage,
    Payment,
    PaymentAgent,
    Posting,
)
from abonent.payments.agents import service as agents
from tests.factories import ACTOR

PASSWORD = "correct-horse-42"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


async def make_agent(
    db: Database,
    code: str = "SBER",
    *,
    allowed: Sequence[str] = ("127.0.0.1",),
    min_sum_minor: int = 100,
    max_sum_minor: int = 1_500_000,
    disclosure: str = "none",
    password: str = PASSWORD,
) -> PaymentAgent:
    async with db.session(write=True) as s:
        return await agents.create_agent(
            s,
            code=code,
            password=password,
            allowed_ips=allowed,
            actor=ACTOR,
            min_sum_minor=min_sum_minor,
            max_sum_minor=max_sum_minor,
            disclosure=disclosure,
        )


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    body: str
    osmp_txn_id: str
    prv_txn: str
    sum: str
    result: int
    comment: str
    fields: dict[str, str] = field(default_factory=dict)


def parse_reply(response: httpx.Response) -> Reply:
    body = response.content.decode("utf-8")
    assert body.startswith(DECLARATION), body
    root = ET.fromstring(response.content)
    assert root.tag == "response"
    tags = [child.tag for child in root]
    assert tags[:5] == ["osmp_txn_id", "prv_txn", "sum", "result", "comment"], tags
    fields: dict[str, str] = {}
    extra = root.find("fields")
    if extra is not None:
        for i, child in enumerate(extra, start=1):
            assert child.tag == f"field{i}"
            fields[child.attrib["name"]] = child.text or ""

    def text(tag: str) -> str:
        node = root.find(tag)
        assert node is not None
        return node.text or ""

    return Reply(
        status=response.status_code,
        headers=response.headers,
        body=body,
        osmp_txn_id=text("osmp_txn_id"),
        prv_txn=text("prv_txn"),
        sum=text("sum"),
        result=int(text("result")),
        comment=text("comment"),
        fields=fields,
    )


class Osmp:
    """Calls /agents/osmp/{code} the way an agent does."""

    def __init__(self, client: httpx.AsyncClient, code: str = "SBER", password: str = PASSWORD):
        self.client = client
        self.code = code
        self.password = password

    async def __call__(
        self,
        params: dict[str, str] | list[tuple[str, str]],
        *,
        method: str = "GET",
        auth: tuple[str, str] | bool | None = True,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> Reply:
        url = f"/agents/osmp/{code or self.code}"
        if auth is True:
            auth = (self.code, self.password)
        kwargs: dict[str, Any] = {"headers": headers or {}}
        if auth:
            kwargs["auth"] = httpx.BasicAuth(*auth)
        if method == "GET":
            response = await self.client.get(url, params=params, **kwargs)
        else:
            response = await self.client.post(url, data=params, **kwargs)
        reply = parse_reply(response)
        assert response.headers["content-type"] == "text/xml; charset=utf-8"
        return reply

    async def check(self, txn_id: str, account: str, amount: str, **extra: str) -> Reply:
        return await self(
            {"command": "check", "txn_id": txn_id, "account": account, "sum": amount, **extra}
        )

    async def pay(
        self,
        txn_id: str,
        account: str,
        amount: str,
        *,
        txn_date: str = "20261118150000",
        method: str = "GET",
        **extra: str,
    ) -> Reply:
        return await self(
            {
                "command": "pay",
                "txn_id": txn_id,
                "account": account,
                "sum": amount,
                "txn_date": txn_date,
                **extra,
            },
            method=method,
        )


def build_client(app: FastAPI, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
def app(db: Database) -> FastAPI:
    from abonent.app import create_app

    application = create_app(db)
    # A private copy: tests that change settings must not leak into others.
    application.state.settings = application.state.settings.model_copy(deep=True)
    return application


@pytest.fixture
async def osmp(app: FastAPI) -> AsyncIterator[Osmp]:
    async with build_client(app) as client:
        yield Osmp(client)


@pytest.fixture(autouse=True)
def _fresh_password_cache() -> None:
    # Every test proves its own verifications; a database is re-created per test anyway.
    agents.forget_verified_passwords()
    agents.forget_copies()


async def snapshot(db: Database) -> dict[str, Any]:
    """Everything a payment or a refusal could have touched."""
    async with db.session() as s:
        counts = {}
        for model in (
            Payment,
            JournalEntry,
            Posting,
            OpenItem,
            Allocation,
            OutboxMessage,
            AuditEvent,
            PaymentAgent,
        ):
            counts[model.__tablename__] = await s.scalar(select(func.count()).select_from(model))
        balances = [
            (b.account_id, b.balance_minor, b.debt_minor, b.entries_count)
            for b in await s.scalars(select(AccountBalance).order_by(AccountBalance.account_id))
        ]
    return {"counts": counts, "balances": balances}
