"""A person with two accounts and debt on several services, and console sign-in over HTTP."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import httpx

from abonent.accounts import service as accounts
from abonent.db.uow import Database
from abonent.kit import clock
from tests.factories import ACTOR, charge, remember_secret
from tests.staff.helpers import Employee

PASSPORT = "4510 123456"
WRONG = "4510 654321"
FULL_NAME = "Петров Пётр Петрович"
PHONE = "+79161112233"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Person:
    id: int
    mobile_number: str
    tv_number: str


async def make_person(db: Database) -> Person:
    """Two accounts: a SIM (450,00 ₽ overdue) and internet (120,00 ₽) on one, TV (300,50 ₽) on
    the other."""
    remember_secret(PASSPORT)
    remember_secret(WRONG)
    today = clock.today()

    async def unit(session):  # type: ignore[no-untyped-def]
        customer = await accounts.create_customer(
            session,
            kind="person",
            full_name=FULL_NAME,
            passport=PASSPORT,
            birth_date=dt.date(1980, 5, 17),
            contact_phone=PHONE,
            actor=ACTOR,
        )
        mobile = await accounts.open_account(session, customer_id=customer.id, actor=ACTOR)
        sim = await accounts.add_service(
            session, mobile, accounts.ServiceSpec(kind="mobile", msisdn=PHONE), actor=ACTOR
        )
        net = await accounts.add_service(
            session, mobile, accounts.ServiceSpec(kind="internet", login="petrov80"), actor=ACTOR
        )
        tv = await accounts.open_account(session, customer_id=customer.id, actor=ACTOR)
        box = await accounts.add_service(
            session,
            tv,
            accounts.ServiceSpec(kind="tv", smart_card="750012345678", chip_id="C000777"),
            actor=ACTOR,
        )
        await charge(session, mobile, 45_000, due=today - dt.timedelta(days=17), service=sim)
        await charge(session, mobile, 12_000, due=today + dt.timedelta(days=10), service=net)
        await charge(session, tv, 30_050, due=today + dt.timedelta(days=17), service=box)
        return Person(customer.id, mobile.number, tv.number)

    return await db.run(unit)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def console_sign_in(client: httpx.AsyncClient, who: Employee) -> str:
    """Sign in through /console/login; the CSRF token of the next page is returned."""
    page = await client.get("/console/login")
    response = await client.post(
        "/console/login",
        data={
            "csrf_token": csrf_of(page.text),
            "login": who.login,
            "password": who.password,
            "totp": who.code(),
            "next": "/console",
        },
    )
    assert response.status_code == 303, response.text
    token = client.cookies.get("ab_staff")
    assert token
    remember_secret(token)
    home = await client.get("/console")
    assert home.status_code == 200
    return csrf_of(home.text)


async def check_identity(
    client: httpx.AsyncClient, person: Person, csrf: str, passport: str = PASSPORT
) -> httpx.Response:
    return await client.post(
        f"/console/people/{person.id}/check",
        data={
            "csrf_token": csrf,
            "document_type": "passport_ru",
            "series_number": passport,
            "channel": "desk",
            "purpose": "узнать долг",
        },
    )
