"""Card payment test helpers: start one through the API, sign webhooks, take snapshots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.models import (
    Account,
    AccountBalance,
    CardPayment,
    JournalEntry,
    Payment,
    SandboxAcquiringPayment,
    WebhookEvent,
)
from abonent.payments.acquiring import signing
from tests.factories import auth


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def start(
    web: httpx.AsyncClient, key: str, account: Account, amount_minor: int = 50_000, **extra: Any
) -> dict[str, Any]:
    r = await web.post(
        "/v1/card-payments",
        json={
            "account_number": account.number,
            "amount_minor": amount_minor,
            "currency": "RUB",
            **extra,
        },
        headers=auth(key),
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def signed(
    event: dict[str, Any],
    *,
    secret: bytes | None = None,
    timestamp: int | None = None,
    body: bytes | None = None,
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(event, separators=(",", ":")).encode()
    ts = int(clock.now().timestamp()) if timestamp is None else timestamp
    key = get_settings().secret("webhook_secret") if secret is None else secret
    headers = {
        "Content-Type": "application/json",
        signing.TIMESTAMP_HEADER: str(ts),
        signing.SIGNATURE_HEADER: signing.signature(key, ts, raw),
    }
    return (raw if body is None else body), headers


def event(
    ref: str, status: str = "succeeded", amount_minor: int = 50_000, **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": extra.pop("event_id", f"evt_{ref}_{status}"),
        "type": f"payment.{status}",
        "ref": ref,
        "status": status,
        "amount_minor": amount_minor,
        "currency": "RUB",
        "reason": None if status == "succeeded" else "Отказ",
        **extra,
    }


@dataclass(frozen=True)
class State:
    card_statuses: tuple[tuple[int, str], ...]
    payments: int
    entries: int
    webhook_events: int
    balances: tuple[tuple[int, int, int], ...]
    sandbox: tuple[tuple[str, str], ...]


async def state(db: Database) -> State:
    async with db.session() as s:
        cards = (
            await s.execute(select(CardPayment.id, CardPayment.status).order_by(CardPayment.id))
        ).all()
        balances = (
            await s.execute(
                select(
                    AccountBalance.account_id,
                    AccountBalance.balance_minor,
                    AccountBalance.debt_minor,
                ).order_by(AccountBalance.account_id)
            )
        ).all()
        sandbox = (
            await s.execute(
                select(SandboxAcquiringPayment.ref, SandboxAcquiringPayment.status).order_by(
                    SandboxAcquiringPayment.id
                )
            )
        ).all()
        return State(
            card_statuses=tuple((r[0], r[1]) for r in cards),
            payments=await s.scalar(select(func.count()).select_from(Payment)) or 0,
            entries=await s.scalar(select(func.count()).select_from(JournalEntry)) or 0,
            webhook_events=await s.scalar(select(func.count()).select_from(WebhookEvent)) or 0,
            balances=tuple((r[0], r[1], r[2]) for r in balances),
            sandbox=tuple((r[0], r[1]) for r in sandbox),
        )


async def card(db: Database, card_id: int) -> CardPayment:
    async with db.session() as s:
        found = await s.get(CardPayment, card_id)
        assert found is not None
        return found
