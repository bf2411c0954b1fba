"""Checking a notice (API, USSD, the hotline's route) and reporting a suspicious SMS: genuine,
forged, wrong digits, the rate limit; refusals change nothing; the check reveals only what the
SMS said."""

from __future__ import annotations

import itertools

import httpx
from sqlalchemy import select

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import Service, SuspiciousSmsReport, ThrottleHit
from tests.notices.helpers import code_of, count, debtor, send, sms_texts, snapshot
from tests.staff.helpers import bearer, make_staff, sign_in

_ids = itertools.count(1)


async def _genuine(db: Database, clock: FrozenClock) -> tuple[str, str, str]:
    account = await debtor(db)
    await send(db, account, "first", clock.now())
    [text] = await sms_texts(db)
    async with db.session() as s:
        msisdn = await s.scalar(select(Service.msisdn).where(Service.account_id == account.id))
    assert msisdn is not None
    return code_of(text), account.number[-4:], msisdn


async def test_genuine_forged_and_wrong_digits_over_the_api(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    code, last4, _ = await _genuine(db, clock)
    r = await client.post("/v1/public/notices/verify", json={"code": code, "account_last4": last4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["genuine"] is True
    assert body["sent_on"] == "2026-11-18" and body["amount_minor"] == 105_000
    assert "отправлено 18.11.2026" in body["message"] and "1\u00a0050,00\u00a0₽" in body["message"]
    # Nothing the SMS did not say: no account number, no name, no phone.
    assert set(body) == {"genuine", "message", "sent_on", "amount_minor", "due_date"}
    wrong = "0000" if last4 != "0000" else "1111"
    other = f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"
    for probe in ({"code": code, "account_last4": wrong}, {"code": other, "account_last4": last4}):
        r = await client.post("/v1/public/notices/verify", json=probe)
        assert r.status_code == 200
        assert r.json()["genuine"] is False
        assert "Мы не отправляли" in r.json()["message"]
        assert "8-800-250-08-90" in r.json()["message"]
        assert r.json()["amount_minor"] is None


async def test_malformed_checks_are_refused_and_change_nothing(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    before = await snapshot(db)
    for body in (
        {"code": "12ab", "account_last4": "1234"},
        {"code": "123456", "account_last4": "12"},
        {"code": "", "account_last4": "1234"},
        {"code": "123456"},
    ):
        r = await client.post("/v1/public/notices/verify", json=body)
        assert r.status_code == 422, body
    assert await snapshot(db) == before


async def test_checks_are_rate_limited_per_address(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    code, last4, _ = await _genuine(db, clock)
    for _ in range(10):
        r = await client.post(
            "/v1/public/notices/verify", json={"code": "999999", "account_last4": last4}
        )
        assert r.status_code == 200
    hits = await count(db, ThrottleHit)
    # Even the right code is refused now: guessing cannot go on at the door.
    r = await client.post("/v1/public/notices/verify", json={"code": code, "account_last4": last4})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert await count(db, ThrottleHit) == hits
    clock.advance(hours=1, seconds=1)
    r = await client.post("/v1/public/notices/verify", json={"code": code, "account_last4": last4})
    assert r.status_code == 200 and r.json()["genuine"] is True


async def dial(
    client: httpx.AsyncClient, phone: str, code: str, text: str = "", session: str | None = None
) -> tuple[str, str]:
    r = await client.post(
        "/ussd/callback",
        data={
            "sessionId": session or f"nv{next(_ids)}",
            "serviceCode": code,
            "phoneNumber": phone,
            "networkCode": "25001",
            "text": text,
        },
    )
    assert r.status_code == 200
    kind, _, screen = r.text.partition(" ")
    assert len(screen) <= 80, screen
    return kind, screen


async def test_check_by_ussd(client: httpx.AsyncClient, db: Database, clock: FrozenClock) -> None:
    code, last4, phone = await _genuine(db, clock)
    # In one go: *100*7*CODE*1234#
    kind, screen = await dial(client, phone, f"*100*7*{code}*{last4}#")
    assert kind == "END" and "SMS настоящее" in screen and "18.11.2026" in screen
    assert "1 050,00 ₽" in screen
    # In two steps: *100*7*CODE#, then the 4 digits.
    kind, screen = await dial(client, phone, f"*100*7*{code}#", session="two")
    assert kind == "CON" and "4 последние цифры" in screen
    kind, screen = await dial(client, phone, f"*100*7*{code}#", last4, session="two")
    assert kind == "END" and "SMS настоящее" in screen
    # A gateway that sends *100# with the rest as text.
    kind, screen = await dial(client, phone, "*100#", f"7*{code}*{last4}")
    assert "SMS настоящее" in screen
    # Forged, wrong digits, and anyone may ask (an unknown number too).
    for probe, who in ((f"*100*7*{code}*0001#", phone), (f"*100*7*1*{last4}#", "+79990000000")):
        kind, screen = await dial(client, who, probe)
        assert kind == "END" and "не от нас" in screen, screen
    kind, screen = await dial(client, phone, "*100*7*abc#")
    assert "*100*7*" in screen


async def test_ussd_checks_are_rate_limited_per_number(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    code, last4, phone = await _genuine(db, clock)
    for _ in range(10):
        await dial(client, phone, f"*100*7*1*{last4}#")
    kind, screen = await dial(client, phone, f"*100*7*{code}*{last4}#")
    assert kind == "END" and "Слишком много" in screen


async def test_hotline_check_and_reports_with_counts(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    code, last4, _ = await _genuine(db, clock)
    hotline = await make_staff(db, "hotline")
    token = await sign_in(client, hotline)
    r = await client.post(
        "/v1/staff/notices/verify",
        json={"code": code, "account_last4": last4},
        headers=bearer(token),
    )
    assert r.status_code == 200 and r.json()["genuine"] is True
    r = await client.post("/v1/staff/notices/verify", json={"code": code, "account_last4": last4})
    assert r.status_code == 401
    fraud = "Ваш долг 5000 руб. Оплатите по ссылке pay-mts.ru/x"
    for sender, text in (("MTS-Pay", fraud), ("MTS-Pay", fraud), ("+79001234567", "Долг! Звоните")):
        r = await client.post("/v1/public/notices/report", json={"sender": sender, "text": text})
        assert r.status_code == 201, r.text
    before = await count(db, SuspiciousSmsReport)
    r = await client.post("/v1/public/notices/report", json={"sender": "", "text": "x"})
    assert r.status_code == 422
    r = await client.post("/v1/public/notices/report", json={"sender": "A", "text": "a\x00b"})
    assert r.status_code == 422
    assert await count(db, SuspiciousSmsReport) == before
    r = await client.get("/v1/staff/notices/reports", headers=bearer(token))
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3
    assert body["by_sender"][0] == {"value": "MTS-Pay", "count": 2}
    assert body["by_text"][0] == {"value": fraud, "count": 2}
    assert len(body["recent"]) == 3


async def test_reports_are_rate_limited(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    for n in range(5):
        r = await client.post("/v1/public/notices/report", json={"sender": "X", "text": f"t{n}"})
        assert r.status_code == 201
    r = await client.post("/v1/public/notices/report", json={"sender": "X", "text": "t"})
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert await count(db, SuspiciousSmsReport) == 5


async def test_an_admin_reads_reports_as_the_console_lets_them(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    from abonent.notices.service import READ_ROLES

    assert "admin" in READ_ROLES
    token = await sign_in(client, await make_staff(db, "admin"))
    r = await client.get("/v1/staff/notices/reports", headers=bearer(token))
    assert r.status_code == 200 and r.json()["total"] == 0
