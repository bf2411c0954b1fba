"""The cabinet's public "Проверить SMS" page over HTTP: genuine, forged, malformed, reports,
the rate limit's page, and the English catalogue."""

from __future__ import annotations

import re

import httpx

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import SuspiciousSmsReport
from tests.notices.helpers import code_of, count, debtor, send, sms_texts, snapshot

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _csrf(client: httpx.AsyncClient, **headers: str) -> str:
    r = await client.get("/cabinet/check-sms", headers=headers)
    assert r.status_code == 200
    found = CSRF.search(r.text)
    assert found
    return found.group(1)


async def test_check_genuine_and_forged(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account = await debtor(db)
    await send(db, account, "first", clock.now())
    [text] = await sms_texts(db)
    code, last4 = code_of(text), account.number[-4:]
    token = await _csrf(client)
    r = await client.post(
        "/cabinet/check-sms", data={"code": code, "last4": last4, "csrf_token": token}
    )
    assert r.status_code == 200
    assert 'data-test="genuine"' in r.text and "18.11.2026" in r.text
    assert account.number not in r.text
    r = await client.post(
        "/cabinet/check-sms", data={"code": "1", "last4": last4, "csrf_token": token}
    )
    assert 'data-test="forged"' in r.text and "8-800-250-08-90" in r.text
    r = await client.post("/cabinet/check-sms", data={"code": code, "last4": last4})
    assert r.status_code == 403  # no CSRF token: refused
    before = await snapshot(db)
    r = await client.post(
        "/cabinet/check-sms", data={"code": "x", "last4": "1", "csrf_token": token}
    )
    assert r.status_code == 422
    assert await snapshot(db) == before


async def test_english_and_report_and_limit(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    token = await _csrf(client, **{"accept-language": "en"})
    r = await client.get("/cabinet/check-sms", headers={"accept-language": "en"})
    assert "Check a debt SMS" in r.text and 'lang="en"' in r.text
    for n in range(5):
        r = await client.post(
            "/cabinet/check-sms/report",
            data={"sender": "MTS-Pay", "text": f"Оплатите долг {n}", "csrf_token": token},
        )
        assert r.status_code == 200 and 'data-test="reported"' in r.text
    r = await client.post(
        "/cabinet/check-sms/report",
        data={"sender": "MTS-Pay", "text": "ещё", "csrf_token": token},
    )
    assert r.status_code == 429 and "retry-after" in r.headers
    assert await count(db, SuspiciousSmsReport) == 5
    r = await client.post(
        "/cabinet/check-sms", data={"code": "1", "last4": "1234", "csrf_token": token}
    )
    assert r.status_code == 200
