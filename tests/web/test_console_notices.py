"""The console's notice pages over HTTP: the hotline's check, the reports with counts, a
customer's contact log and blocks; roles and CSRF."""

from __future__ import annotations

import re

import httpx

from abonent.contact import service as contact
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.notices import service as notices
from tests.notices.helpers import at, code_of, debtor, send, sms_texts
from tests.staff.helpers import Employee, make_staff

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


async def console_login(client: httpx.AsyncClient, who: Employee) -> None:
    form = await client.get("/console/login")
    r = await client.post(
        "/console/login",
        data={
            "login": who.login,
            "password": who.password,
            "totp": who.code(),
            "csrf_token": csrf_of(form.text),
        },
    )
    assert r.status_code == 303, r.text[:500]


async def test_hotline_checks_a_notice_in_the_console(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account = await debtor(db)
    await send(db, account, "first", clock.now())
    [text] = await sms_texts(db)
    code, last4 = code_of(text), account.number[-4:]
    await console_login(client, await make_staff(db, "hotline"))
    page = await client.get("/console/notices/verify")
    assert page.status_code == 200 and "Проверка SMS о долге" in page.text
    token = csrf_of(page.text)
    r = await client.post(
        "/console/notices/verify", data={"code": code, "last4": last4, "csrf_token": token}
    )
    assert r.status_code == 200 and 'data-test="genuine"' in r.text
    assert "18.11.2026" in r.text and account.number not in r.text
    r = await client.post(
        "/console/notices/verify", data={"code": "12", "last4": last4, "csrf_token": token}
    )
    assert 'data-test="forged"' in r.text
    r = await client.post("/console/notices/verify", data={"code": code, "last4": last4})
    assert r.status_code == 403


async def test_reports_and_contact_pages(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account = await debtor(db)
    async with db.session(write=True) as s:
        for n in range(3):
            await notices.report(
                s, sender="MTS-Pay", text="Оплатите по ссылке", channel="api", client_key=f"c{n}"
            )
        await contact.set_block(
            s,
            account.customer_id,
            kind="court_ban",
            reason="Определение суда",
            actor=Actor("staff:anna", "collections"),
        )
    await send(db, account, "first", at(2026, 11, 18, 12))
    r = await client.get("/console/notices/reports")
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    await console_login(client, await make_staff(db, "collections"))
    r = await client.get("/console/notices/reports")
    assert r.status_code == 200
    assert 'data-test="total">3<' in r.text and "MTS-Pay" in r.text
    r = await client.get(f"/console/customers/{account.customer_id}/contact")
    assert r.status_code == 200
    assert "запрет суда" in r.text and "действует" in r.text and "запрет" in r.text
    r = await client.get("/console/customers/999999/contact")
    assert r.status_code == 404


async def test_the_hotline_records_a_suspicious_sms(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    from sqlalchemy import func, select

    from abonent.models import SuspiciousSmsReport

    async def reports() -> int:
        async with db.session() as s:
            return await s.scalar(select(func.count()).select_from(SuspiciousSmsReport)) or 0

    await console_login(client, await make_staff(db, "hotline"))
    token = csrf_of((await client.get("/console/notices/verify")).text)
    r = await client.post(
        "/console/notices/report",
        data={"sender": "Bank-RU", "text": "Долг 999 ₽, оплатите по ссылке", "csrf_token": token},
    )
    assert r.status_code == 200 and 'data-test="reported"' in r.text
    assert await reports() == 1
    for data in (
        {"sender": "", "text": "x", "csrf_token": token},
        {"sender": "A\x07B", "text": "x", "csrf_token": token},
        {"sender": "Bank-RU", "text": "x", "csrf_token": "forged"},
    ):
        refused = await client.post("/console/notices/report", data=data)
        assert refused.status_code in (403, 422), refused.text[:300]
    assert await reports() == 1
    summary = await client.get("/console/notices/reports")
    assert summary.status_code == 200 and "Bank-RU" in summary.text


async def test_blocks_set_and_lifted_from_the_console(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    from sqlalchemy import select

    from abonent.models import ContactBlock

    account = await debtor(db)
    page = f"/console/customers/{account.customer_id}/contact"

    async def blocks() -> list[tuple[str, bool]]:
        async with db.session() as s:
            rows = await s.scalars(select(ContactBlock).order_by(ContactBlock.id))
            return [(b.kind, b.lifted_at is None) for b in rows]

    await console_login(client, await make_staff(db, "hotline"))
    token = csrf_of((await client.get(page)).text)
    hotline = await client.post(
        page + "/block", data={"kind": "deceased", "reason": "x", "csrf_token": token}
    )
    assert hotline.status_code == 403 and await blocks() == []
    client.cookies.clear()
    await console_login(client, await make_staff(db, "collections"))
    shown = await client.get(page)
    assert "Установить запрет" in shown.text
    token = csrf_of(shown.text)
    for data in (
        {"kind": "holiday", "reason": "x", "csrf_token": token},
        {"kind": "deceased", "reason": "", "csrf_token": token},
        {"kind": "deceased", "reason": "x", "csrf_token": "forged"},
    ):
        refused = await client.post(page + "/block", data=data)
        assert refused.status_code in (403, 422), refused.text[:300]
    assert await blocks() == []
    done = await client.post(
        page + "/block",
        data={"kind": "bankruptcy", "reason": "Заявление в суд № А40-1", "csrf_token": token},
    )
    assert done.status_code == 303 and await blocks() == [("bankruptcy", True)]
    async with db.session() as s:
        block_id = await s.scalar(select(ContactBlock.id))
    lifted = await client.post(f"{page}/blocks/{block_id}/lift", data={"csrf_token": token})
    assert lifted.status_code == 303 and await blocks() == [("bankruptcy", False)]
    again = await client.post(f"{page}/blocks/{block_id}/lift", data={"csrf_token": token})
    assert again.status_code in (409, 422) and await blocks() == [("bankruptcy", False)]


async def test_the_contact_log_shows_every_decision_across_customers(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    # 12:00 UTC: 15:00 in Moscow (sent), midnight in Kamchatka (deferred to its morning).
    moscow = await debtor(db)
    kamchatka = await debtor(db, tz="Asia/Kamchatka")
    await send(db, moscow, "first", clock.now())
    await send(db, kamchatka, "first", clock.now())
    anonymous = await client.get("/console/contact-log")
    assert anonymous.status_code in (302, 303) and "/console/login" in anonymous.headers["location"]
    await console_login(client, await make_staff(db, "collections"))
    page = await client.get("/console/contact-log")
    assert page.status_code == 200
    assert re.findall(r'data-test="decision" data-verdict="(\w+)"', page.text) == [
        "deferred",
        "sent",
    ]
    counts = page.text.split('data-test="counts"')[1].split("</table>")[0]
    assert "нерабочее время" in counts and "разрешено" in counts
    assert f'/console/customers/{kamchatka.customer_id}/contact"' in page.text
    deferred = await client.get("/console/contact-log", params={"verdict": "deferred"})
    assert re.findall(r'data-verdict="(\w+)"', deferred.text) == ["deferred"]
    unknown = await client.get("/console/contact-log", params={"verdict": "bogus"})
    assert unknown.status_code == 200
    assert re.findall(r'data-verdict="(\w+)"', unknown.text) == ["deferred", "sent"]
    too_long = await client.get("/console/contact-log", params={"verdict": "x" * 17})
    assert too_long.status_code in (400, 422) and "Traceback" not in too_long.text
