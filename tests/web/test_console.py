"""The staff console over HTTP: sign-in, sessions, CSRF, the identity check gate, roles, the desk
payment once per form, masking, the audit. Every refusal leaves the data as it was."""

from __future__ import annotations

import re
from contextlib import aclosing
from typing import Any

import httpx
from sqlalchemy import func, select

from abonent.app import create_app
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import AuditEvent, Payment, PersonAccess, StaffSession, StaffUser
from abonent.staff.roles import ROLES
from tests.api.helpers import snapshot
from tests.factories import remember_secret
from tests.staff.helpers import Employee, make_staff
from tests.web.console_helpers import (
    FULL_NAME,
    PASSPORT,
    PHONE,
    WRONG,
    check_identity,
    console_sign_in,
    csrf_of,
    make_person,
)


def _client(db: Database) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(db), client=("127.0.0.1", 50001))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _signed(
    db: Database, role: str, login: str | None = None
) -> tuple[httpx.AsyncClient, str, Employee]:
    who = await make_staff(db, role, login)
    client = _client(db)
    csrf = await console_sign_in(client, who)
    return client, csrf, who


async def _count(db: Database, model: type, *where: Any) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# Every page of this package and the staff action that guards it (None: any employee).
ROUTES: dict[tuple[str, str], str | None] = {
    ("GET", "/console"): "people.find",
    ("POST", "/console/search"): "people.find",
    ("GET", "/console/people/{person_id}/check"): "people.check",
    ("POST", "/console/people/{person_id}/check"): "people.check",
    ("GET", "/console/people/{person_id}"): "people.view",
    ("POST", "/console/people/{person_id}/reveal"): "people.reveal",
    ("POST", "/console/people/{person_id}/sms-details"): "people.sms",
    ("GET", "/console/people/{person_id}/statement-of-debt.pdf"): "people.statement_pdf",
    ("POST", "/console/people/{person_id}/payments"): "people.payment",
    ("POST", "/console/people/{person_id}/promised-payment"): "people.promised",
    ("GET", "/console/people/{person_id}/audit"): "people.audit",
    ("POST", "/console/logout"): None,
}
OPEN = {"/console/login", "/console/login/confirm"}


def _console_routes() -> set[tuple[str, str]]:
    from abonent.web.console import login, people

    found = set()
    for route in [*login.router.routes, *people.router.routes]:
        path = getattr(route, "path", "")
        for method in getattr(route, "methods", set()) - {"HEAD"}:
            if path not in OPEN:
                found.add((method, path))
    return found


def test_the_route_table_covers_every_console_page() -> None:
    # A page added without a line here would escape the session and role tests below.
    assert _console_routes() == set(ROUTES)


async def test_without_a_session_every_page_redirects_to_login(db: Database) -> None:
    person = await make_person(db)
    async with _client(db) as client:
        for (method, path), _action in ROUTES.items():
            url = path.replace("{person_id}", str(person.id))
            response = await client.request(method, url)
            assert response.status_code == 303, (method, url, response.status_code)
            location = response.headers["location"]
            assert location.startswith("/console/login?next=/console"), location
            assert FULL_NAME not in response.text


async def test_every_page_refuses_the_wrong_role_with_the_403_page(db: Database) -> None:
    from abonent.staff.roles import ACTIONS

    person = await make_person(db)
    clients = {role: await _signed(db, role) for role in ROLES}
    before = await snapshot(db)
    refused = 0
    try:
        for (method, path), action in ROUTES.items():
            if action is None:
                continue
            url = path.replace("{person_id}", str(person.id))
            for role in set(ROLES) - ACTIONS[action]:
                client, csrf, _who = clients[role]
                data = {"csrf_token": csrf, "account_number": person.mobile_number}
                response = await client.request(
                    method, url, data=data if method == "POST" else None
                )
                assert response.status_code == 403, (role, method, url, response.text)
                assert "Нет доступа" in response.text
                assert FULL_NAME not in response.text
                refused += 1
        assert await snapshot(db) == before
        assert refused >= 15
    finally:
        for client, _csrf, _who in clients.values():
            await client.aclose()


async def test_every_page_is_no_store_with_the_csp(db: Database) -> None:
    person = await make_person(db)
    client, csrf, _who = await _signed(db, "supervisor")
    async with aclosing(client):
        assert (await check_identity(client, person, csrf)).status_code == 303
        for url in (
            "/console/login",
            "/console",
            f"/console/people/{person.id}/check",
            f"/console/people/{person.id}",
            f"/console/people/{person.id}/audit",
            f"/console/people/{person.id}/statement-of-debt.pdf",
        ):
            response = await client.get(url)
            assert response.status_code == 200, (url, response.text)
            assert response.headers["cache-control"] == "no-store", url
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_sign_in_sets_a_strict_http_only_cookie_and_renews_the_session(
    db: Database, clock: FrozenClock
) -> None:
    who = await make_staff(db, "clerk")
    async with _client(db) as client:
        await console_sign_in(client, who)
        first = client.cookies.get("ab_staff")
        clock.advance(seconds=60)  # the next code is of a later step
        page = await client.get("/console/login")
        response = await client.post(
            "/console/login",
            data={
                "csrf_token": csrf_of(page.text),
                "login": who.login,
                "password": who.password,
                "totp": who.code(),
            },
        )
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        second = client.cookies.get("ab_staff")
        assert second and second != first
    async with db.session() as session:
        rows = (await session.scalars(select(StaffSession).order_by(StaffSession.id))).all()
    # The session the browser had before ended when the new one began.
    assert [r.ended_at is not None for r in rows] == [True, False]


async def test_a_totp_code_is_refused_when_replayed_in_its_step(
    db: Database, clock: FrozenClock
) -> None:
    who = await make_staff(db, "hotline")
    async with _client(db) as client:
        page = await client.get("/console/login")
        form = {
            "csrf_token": csrf_of(page.text),
            "login": who.login,
            "password": who.password,
            "totp": who.code(),
        }
        assert (await client.post("/console/login", data=form)).status_code == 303
    async with _client(db) as other:
        page = await other.get("/console/login")
        replay = await other.post("/console/login", data={**form, "csrf_token": csrf_of(page.text)})
        assert replay.status_code == 401
        assert "Неверный логин, пароль или код" in replay.text
        assert "ab_staff" not in other.cookies
    assert await _count(db, StaffSession) == 1


async def test_lockout_is_shown_in_words_and_holds_against_the_right_password(
    db: Database, clock: FrozenClock
) -> None:
    who = await make_staff(db, "clerk")
    remember_secret("wrong-password-1")
    async with _client(db) as client:
        csrf = csrf_of((await client.get("/console/login")).text)
        for _ in range(5):
            bad = await client.post(
                "/console/login",
                data={
                    "csrf_token": csrf,
                    "login": who.login,
                    "password": "wrong-password-1",
                    "totp": "123456",
                },
            )
            assert bad.status_code == 401
        locked = await client.post(
            "/console/login",
            data={
                "csrf_token": csrf,
                "login": who.login,
                "password": who.password,
                "totp": who.code(),
            },
        )
        assert locked.status_code == 429
        assert "Повторите через 2 минуты" in locked.text  # 61 s, rounded up
        assert locked.headers["retry-after"] == "61"
    assert await _count(db, StaffSession) == 0


async def test_first_sign_in_shows_the_qr_once_then_a_code_confirms(
    db: Database, clock: FrozenClock
) -> None:
    who = await make_staff(db, "clerk")
    async with _client(db) as client:
        csrf = csrf_of((await client.get("/console/login")).text)
        form = {"csrf_token": csrf, "login": who.login, "password": who.password, "totp": ""}
        shown = await client.post("/console/login", data=form)
        assert shown.status_code == 200
        assert "data:image/svg+xml;base64," in shown.text
        assert who.totp_secret not in shown.text
        pending = re.search(r'name="pending" value="([^"]+)"', shown.text)
        assert pending
        # The QR is never shown again, and the answer is the one for a wrong password.
        again = await client.post("/console/login", data=form)
        assert again.status_code == 401 and "data:image" not in again.text
        wrong = await client.post(
            "/console/login/confirm",
            data={"csrf_token": csrf, "pending": pending.group(1), "totp": "000000"},
        )
        assert wrong.status_code == 401 and "data:image" not in wrong.text
        forged = pending.group(1).replace(f"{who.staff_id}|", f"{who.staff_id + 1}|", 1)
        assert (
            await client.post(
                "/console/login/confirm",
                data={"csrf_token": csrf, "pending": forged, "totp": who.code()},
            )
        ).status_code == 401
        confirmed = await client.post(
            "/console/login/confirm",
            data={"csrf_token": csrf, "pending": pending.group(1), "totp": who.code()},
        )
        assert confirmed.status_code == 303
        assert (await client.get("/console")).status_code == 200
    async with db.session() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_type == "staff")
                .order_by(AuditEvent.id)
            )
        ).all()
    assert actions[-3:] == ["staff.totp_enrolment_shown", "staff.totp_enrolled", "staff.login"]


async def test_idle_session_ends_and_logout_ends_it(db: Database, clock: FrozenClock) -> None:
    person = await make_person(db)
    client, csrf, _who = await _signed(db, "clerk")
    async with aclosing(client):
        clock.advance(minutes=31)
        response = await client.get("/console")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/login?next=/console&expired=1"
    client, csrf, who = await _signed(db, "clerk", "clerk2")
    async with aclosing(client):
        token = client.cookies.get("ab_staff")
        out = await client.post("/console/logout", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/console/login"
        assert "ab_staff" not in client.cookies
        # The token itself is dead, not only the cookie gone.
        client.cookies.set("ab_staff", token or "", path="/console")
        again = await client.get(f"/console/people/{person.id}/check")
        assert again.status_code == 303 and "expired=1" in again.headers["location"]
    assert (
        await _count(
            db,
            StaffSession,
            StaffSession.staff_id == who.staff_id,
            StaffSession.ended_at.is_not(None),
        )
        == 1
    )


async def test_no_data_before_a_check_and_search_shows_a_masked_hit(
    db: Database, clock: FrozenClock
) -> None:
    person = await make_person(db)
    client, csrf, _who = await _signed(db, "clerk")
    async with aclosing(client):
        closed = await client.get(f"/console/people/{person.id}")
        assert closed.status_code == 403
        assert "Сначала проверьте документ" in closed.text
        for secret in (FULL_NAME, PHONE, "450,00", person.mobile_number, "Пётр"):
            assert secret not in closed.text
        assert (
            await client.get(f"/console/people/{person.id}/statement-of-debt.pdf")
        ).status_code == 403
        for by, data in (
            ("passport", {"passport": "4510-123456"}),
            ("msisdn", {"msisdn": "8 916 111-22-33"}),
            ("account", {"account": person.tv_number}),
            ("smart_card", {"smart_card": "750012345678", "chip_id": "C000777"}),
            ("surname", {"surname": "петров", "birth_date": "17.05.1980"}),
        ):
            found = await client.post(
                "/console/search", data={"csrf_token": csrf, "by": by, **data}
            )
            assert found.status_code == 200, (by, found.text)
            assert "Петров П. П." in found.text and "45** ***456" in found.text, by
            assert FULL_NAME not in found.text and PHONE not in found.text
            assert f"/console/people/{person.id}/check" in found.text
        bad = await client.post(
            "/console/search", data={"csrf_token": csrf, "by": "account", "account": "12"}
        )
        assert bad.status_code == 422 and "account_number_format" in bad.text
        assert "Номер лицевого счёта — 12 цифр." in bad.text  # as many as Abonent's numbers have
        bad_birth = await client.post(
            "/console/search",
            data={"csrf_token": csrf, "by": "surname", "surname": "петров", "birth_date": "31.02"},
        )
        assert bad_birth.status_code == 422 and "console.birth_date" in bad_birth.text
        assert "Дата рождения не распознана" in bad_birth.text


async def test_a_wrong_passport_is_an_audited_no_match_that_reveals_nothing(
    db: Database, clock: FrozenClock
) -> None:
    person = await make_person(db)
    client, csrf, _who = await _signed(db, "hotline")
    async with aclosing(client):
        response = await check_identity(client, person, csrf, passport=WRONG)
        assert response.status_code == 200
        assert "Нет совпадения" in response.text
        for secret in (FULL_NAME, PHONE, "450,00", person.mobile_number, WRONG, "654321"):
            assert secret not in response.text
        assert (await client.get(f"/console/people/{person.id}")).status_code == 403
    assert await _count(db, PersonAccess) == 0
    async with db.session() as session:
        event = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "people.identity_check")
            )
        ).one()
    assert event.details["result"] == "no_match"
    assert event.object_id == str(person.id)
    assert "654321" not in str(event.details) and "654321" not in (event.reason or "")


async def test_csrf_is_refused_and_nothing_changes(db: Database, clock: FrozenClock) -> None:
    person = await make_person(db)
    client, csrf, _who = await _signed(db, "clerk")
    async with aclosing(client):
        assert (await check_identity(client, person, csrf)).status_code == 303
        before = await snapshot(db)
        form = {
            "account_number": person.mobile_number,
            "amount": "450,00",
            "form_key": "0" * 32,
        }
        for token in (None, "forged.0000", csrf + "x"):
            data = {**form, **({"csrf_token": token} if token else {})}
            response = await client.post(f"/console/people/{person.id}/payments", data=data)
            assert response.status_code == 403
            assert "Форма устарела" in response.text
        # A token minted for another session is refused too.
        other, other_csrf, _ = await _signed(db, "clerk", "clerk2")
        await other.aclose()
        before = {
            k: v for k, v in (await snapshot(db)).items() if not k.startswith(("staff", "audit"))
        }
        response = await client.post(
            f"/console/people/{person.id}/payments", data={**form, "csrf_token": other_csrf}
        )
        assert response.status_code == 403
        after = {
            k: v for k, v in (await snapshot(db)).items() if not k.startswith(("staff", "audit"))
        }
        assert after == before
    assert await _count(db, Payment) == 0


async def test_desk_payment_books_once_per_form(db: Database, clock: FrozenClock) -> None:
    person = await make_person(db)
    client, csrf, _who = await _signed(db, "clerk")
    async with aclosing(client):
        assert (await check_identity(client, person, csrf)).status_code == 303
        page = await client.get(f"/console/people/{person.id}")
        assert page.status_code == 200
        keys = re.findall(r'name="form_key" value="([0-9a-f]{32})"', page.text)
        assert len(keys) == 2 and keys[0] != keys[1]
        data = {
            "csrf_token": csrf_of(page.text),
            "account_number": person.mobile_number,
            "amount": "450,00",
            "form_key": keys[0],
        }
        first = await client.post(f"/console/people/{person.id}/payments", data=data)
        assert first.status_code == 303
        assert first.headers["location"].endswith("?done=payment")
        again = await client.post(f"/console/people/{person.id}/payments", data=data)
        assert again.headers["location"].endswith("?done=payment_repeat")
        shown = await client.get(again.headers["location"])
        assert "второй раз не проведён" in shown.text
        refused = await client.post(
            f"/console/people/{person.id}/payments",
            data={**data, "form_key": keys[1], "amount": "10,005"},
        )
        assert refused.status_code == 422 and "amount_precision" in refused.text
    async with db.session() as session:
        payments = (await session.scalars(select(Payment))).all()
    assert [p.amount_minor for p in payments] == [45_000]


async def test_hotline_sees_masked_data_and_exact_amounts(db: Database, clock: FrozenClock) -> None:
    person = await make_person(db)
    client, csrf, _who = await _signed(db, "hotline")
    async with aclosing(client):
        assert (await check_identity(client, person, csrf)).status_code == 303
        page = await client.get(f"/console/people/{person.id}")
        assert page.status_code == 200
        text = page.text
        assert "Петров П. П." in text and FULL_NAME not in text
        assert "+7 916 ***-**-33" in text and PHONE not in text
        assert "45** ***456" in text and PASSPORT not in text and "4510123456" not in text
        assert "450,00\u00a0₽" in text and "300,50\u00a0₽" in text
        # Labels name the SIM and the TV card: masked too, in every table.
        assert "111-22-33" not in text and "750012345678" not in text
        assert "***5678" in text
        assert "Принять платёж" not in text and "Показать паспорт" not in text
        assert "Реквизиты по SMS" in text
        sms = await client.post(
            f"/console/people/{person.id}/sms-details",
            data={"csrf_token": csrf_of(text), "account_number": person.tv_number},
        )
        assert sms.status_code == 303 and sms.headers["location"].endswith("?done=sms")


async def test_clerk_sees_full_data_and_reveals_the_passport_with_a_reason(
    db: Database, clock: FrozenClock
) -> None:
    person = await make_person(db)
    client, csrf, _who = await _signed(db, "clerk")
    async with aclosing(client):
        assert (await check_identity(client, person, csrf)).status_code == 303
        page = await client.get(f"/console/people/{person.id}")
        assert FULL_NAME in page.text and PHONE in page.text and "17.05.1980" in page.text
        assert "45** ***456" in page.text
        no_reason = await client.post(
            f"/console/people/{person.id}/reveal", data={"csrf_token": csrf, "reason": " "}
        )
        assert no_reason.status_code == 422 and "4510 123456" not in no_reason.text
        shown = await client.post(
            f"/console/people/{person.id}/reveal",
            data={"csrf_token": csrf, "reason": "сверка с документом"},
        )
        assert shown.status_code == 200 and PASSPORT in shown.text
    assert await _count(db, AuditEvent, AuditEvent.action == "people.passport_reveal") == 1


async def test_supervisor_reads_who_looked_when_and_why(db: Database, clock: FrozenClock) -> None:
    person = await make_person(db)
    clerk, csrf, clerk_who = await _signed(db, "clerk")
    async with aclosing(clerk):
        assert (await check_identity(clerk, person, csrf)).status_code == 303
        assert (await clerk.get(f"/console/people/{person.id}")).status_code == 200
    boss, _boss_csrf, _ = await _signed(db, "supervisor")
    async with aclosing(boss):
        page = await boss.get(f"/console/people/{person.id}/audit")
        assert page.status_code == 200
        text = page.text
        assert f"staff:{clerk_who.staff_id}:{clerk_who.login}" in text
        assert "проверка документа" in text and "узнать долг" in text and "совпал" in text
        assert "просмотр данных" in text and "18.11.2026 15:00" in text
        assert PASSPORT not in text
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(StaffUser)) == 2


async def test_hotline_takes_a_promised_payment_once(db: Database, clock: FrozenClock) -> None:
    from abonent.accounts import service as accounts
    from abonent.models import PromisedPayment
    from tests.promised.helpers import subscriber

    account, _ = await subscriber(db, clock)
    async with db.session() as session:
        customer = await accounts.get_customer(session, account.customer_id)
        assert customer.passport_enc is not None
        passport = accounts.pii().decrypt(customer.passport_enc)
    remember_secret(passport)
    client, csrf, _who = await _signed(db, "hotline")
    async with aclosing(client):
        checked = await client.post(
            f"/console/people/{account.customer_id}/check",
            data={
                "csrf_token": csrf,
                "document_type": "passport_ru",
                "series_number": passport,
                "channel": "phone",
                "purpose": "обещанный платёж",
            },
        )
        assert checked.status_code == 303
        page = await client.get(f"/console/people/{account.customer_id}")
        offered = re.findall(r'<option value="(\d+)">', page.text)
        assert offered, "no promised payment offered"
        data = {
            "csrf_token": csrf_of(page.text),
            "account_number": account.number,
            "amount_minor": offered[0],
        }
        url = f"/console/people/{account.customer_id}/promised-payment"
        taken = await client.post(url, data=data)
        assert taken.status_code == 303 and taken.headers["location"].endswith("?done=promised")
        before = await snapshot(db)
        again = await client.post(url, data=data)
        assert again.status_code == 422 and "promised_in_force" in again.text
        assert {k: v for k, v in (await snapshot(db)).items() if k != "audit_events"} == {
            k: v for k, v in before.items() if k != "audit_events"
        }
    assert await _count(db, PromisedPayment) == 1
    assert int(offered[0]) > 0
