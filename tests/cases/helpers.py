"""A subscriber logged in over the API, with the charges of tests.disputes.helpers."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.models import Account, Service
from tests.factories import auth, remember_secret
from tests.subscribers.helpers import codes_sent

PNG = (
    bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\0" * 40
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\0" * 48 + b"PE\0\0"


def files_in(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


async def count(db: Database, model: type) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def msisdn_of(db: Database, account: Account) -> str:
    async with db.session() as s:
        number = await s.scalar(
            select(Service.msisdn).where(
                Service.account_id == account.id, Service.msisdn.is_not(None)
            )
        )
    assert number is not None
    return number


async def login(client: httpx.AsyncClient, db: Database, account: Account) -> dict[str, str]:
    msisdn = await msisdn_of(db, account)
    sent = await client.post("/v1/auth/otp", json={"msisdn": msisdn})
    assert sent.status_code == 202, sent.text
    code = (await codes_sent(db, msisdn))[-1]
    answer = await client.post("/v1/auth/token", json={"msisdn": msisdn, "code": code})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    remember_secret(token)
    remember_secret(answer.json()["refresh_token"])
    return auth(token)
