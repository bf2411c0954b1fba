"""Finding a person, the identity check, the person view by role, reveals and the audit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from abonent.accounts import service as accounts
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import AuditEvent, PersonAccess
from abonent.staff.roles import ROLES
from tests.api.helpers import assert_problem, snapshot
from tests.factories import ACTOR, api_key, charge, remember_secret
from tests.staff.helpers import Employee, bearer, make_staff, sign_in

PASSPORT = "4510 123456"
WRONG = "4510 654321"


@dataclass
class Person:
    id: int
    mobile_number: str
    tv_number: str
    msisdn: str


async def _person(db: Database) -> Person:
    remember_secret(PASSPORT)
    remember_secret(WRONG)

    async def unit(session):  # type: ignore[no-untyped-def]
        customer = await accounts.create_customer(
            session,
            kind="person",
            full_name="Петров Пётр Петрович",
            passport=PASSPORT,
            birth_date=dt.date(1980, 5, 17),
            contact_phone="+79161112233",
            actor=ACTOR,
        )
        mobile = await accounts.open_account(session, customer_id=customer.id, actor=ACTOR)
        sim = await accounts.add_service(
            session, mobile, accounts.ServiceSpec(kind="mobile", msisdn="+79161112233"), actor=ACTOR
        )
        await accounts.add_service(
            session, mobile, accounts.ServiceSpec(kind="internet", login="petrov80"), actor=ACTOR
        )
        tv = await accounts.open_account(session, customer_id=customer.id, actor=ACTOR)
        await accounts.add_service(
            session,
            tv,
            accounts.ServiceSpec(kind="tv", smart_card="750012345678", chip_id="C000777"),
            actor=ACTOR,
        )
        await charge(session, mobile, 45_000, due=dt.date(2026, 11, 1), service=sim)
        await charge(session, tv, 30_050, due=dt.date(2026, 12, 5))
        return Person(customer.id, mobile.number, tv.number, "+79161112233")

    return await db.run(unit)


async def _signed(client: httpx.AsyncClient, db: Database, role: str) -> dict[str, str]:
    who: Employee = await make_staff(db, role)
    return bearer(await sign_in(client, who))


async def _check(
    client: httpx.AsyncClient, headers: dict[str, str], person: Person, passport: str = PASSPORT
) -> httpx.Response:
    return await client.post(
        f"/v1/people/{person.id}/identity-checks",
        json={
            "document_type": "passport_ru",
            "series_number": passport,
            "purpose": "звонок о долге",
            "channel": "phone",
        },
        headers=headers,
    )


HIT = {"name": "Петров П. П.", "birth_year": 1980, "passport": "45** ***456", "accounts": 2}


async def test_find_by_every_key_shows_only_a_masked_hit(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    person = await _person(db)
    headers = await _signed(client, db, "hotline")
    for query in (
        {"passport": "4510-123456"},
        {"msisdn": "8 916 111-22-33"},
        {"account": person.tv_number},
        {"smart_card": "750012345678", "chip_id": "C000777"},
        {"surname": "петров", "birth_date": "1980-05-17"},
    ):
        response = await client.get("/v1/people", params=query, headers=headers)
        assert response.status_code == 200, (query, response.text)
        assert response.json() == [{"id": person.id, **HIT}], query
    nobody = await client.get("/v1/people", params={"passport": WRONG}, headers=headers)
    assert nobody.json() == []
    async with db.session() as session:
        searches = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "people.search"))
        ).all()
    assert [e.details["by"] for e in searches] == [
        "passport",
        "msisdn",
        "account",
        "smart_card",
        "surname",
        "passport",
    ]
    assert all("4510" not in str(e.details) for e in searches)


async def test_no_data_before_a_check_and_a_no_match_reveals_nothing(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    person = await _person(db)
    headers = await _signed(client, db, "clerk")
    assert_problem(
        await client.get(f"/v1/people/{person.id}", headers=headers), 403, "people.check_required"
    )
    no = await _check(client, headers, person, WRONG)
    assert no.status_code == 200 and no.json() == {"result": "no_match", "access_until": None}
    assert_problem(
        await client.get(f"/v1/people/{person.id}", headers=headers), 403, "people.check_required"
    )
    assert_problem(
        await client.post(f"/v1/people/{person.id}/reveal", json={"reason": "x"}, headers=headers),
        403,
        "people.check_required",
    )
    async with db.session() as session:
        [event] = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "people.identity_check")
            )
        ).all()
        assert (await session.scalars(select(PersonAccess))).all() == []
    assert event.object_id == str(person.id)
    assert event.actor.startswith("staff:") and event.role == "clerk"
    assert event.reason == "звонок о долге"
    assert event.details == {
        "channel": "phone",
        "document_type": "passport_ru",
        "result": "no_match",
    }


async def test_clerk_sees_everything_hotline_masked_amounts_exact(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    person = await _person(db)
    views = {}
    for role in ("clerk", "hotline"):
        headers = await _signed(client, db, role)
        ok = await _check(client, headers, person)
        assert ok.json() == {"result": "match", "access_until": "2026-11-18T12:30:00Z"}
        response = await client.get(f"/v1/people/{person.id}", headers=headers)
        assert response.status_code == 200, response.text
        views[role] = response.json()
    clerk, hotline = views["clerk"], views["hotline"]
    assert (clerk["name"], clerk["birth_date"], clerk["contact_phone"]) == (
        "Петров Пётр Петрович",
        "17.05.1980",
        "+79161112233",
    )
    assert (hotline["name"], hotline["birth_date"], hotline["contact_phone"]) == (
        "Петров П. П.",
        "1980",
        "+7 916 ***-**-33",
    )
    assert clerk["passport"] == hotline["passport"] == "45** ***456"
    for view in (clerk, hotline):
        mobile, tv = view["accounts"]
        assert mobile["number"] == person.mobile_number and tv["number"] == person.tv_number
        assert mobile["statement"]["debt_minor"] == 45_000
        assert mobile["statement"]["overdue_minor"] == 45_000
        assert mobile["statement"]["ageing"]["days_0_30"] == 45_000
        assert tv["statement"]["debt_minor"] == 30_050
        assert tv["statement"]["overdue_minor"] == 0
        assert [s["kind"] for s in mobile["services"]] == ["mobile", "internet"]
        assert mobile["history"] == f"/v1/accounts/{person.mobile_number}/entries"
    assert clerk["accounts"][0]["services"][0]["identifier"] == "+79161112233"
    assert hotline["accounts"][0]["services"][0]["identifier"] == "+7 916 ***-**-33"
    assert hotline["accounts"][1]["services"][0]["identifier"] == "***5678"
    # The internet line's login ("petrov80": name and birth year) and its default label.
    line = {role: view["accounts"][0]["services"][1] for role, view in views.items()}
    assert (line["clerk"]["identifier"], line["clerk"]["label"]) == (
        "petrov80",
        "Интернет: petrov80",
    )
    assert (line["hotline"]["identifier"], line["hotline"]["label"]) == (
        "pe***",
        "Домашний интернет: pe***",
    )
    assert "petrov80" not in str(hotline)


async def test_access_expires(client: httpx.AsyncClient, db: Database, clock: FrozenClock) -> None:
    person = await _person(db)
    headers = await _signed(client, db, "clerk")
    await _check(client, headers, person)
    clock.advance(minutes=29)
    assert (await client.get(f"/v1/people/{person.id}", headers=headers)).status_code == 200
    clock.advance(minutes=1)
    assert_problem(
        await client.get(f"/v1/people/{person.id}", headers=headers), 403, "people.check_required"
    )


async def test_one_employees_check_does_not_open_the_person_to_another(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    person = await _person(db)
    first = await _signed(client, db, "clerk")
    other = bearer(await sign_in(client, await make_staff(db, "clerk", "clerk2")))
    await _check(client, first, person)
    assert_problem(
        await client.get(f"/v1/people/{person.id}", headers=other), 403, "people.check_required"
    )


REVEAL = {"clerk", "supervisor"}
AUDIT = {"supervisor", "admin"}


@pytest.mark.parametrize("role", ROLES)
async def test_reveal_and_audit_by_role(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock, role: str
) -> None:
    person = await _person(db)
    headers = await _signed(client, db, role)
    assert (await _check(client, headers, person)).json()["result"] == "match"
    reveal = await client.post(
        f"/v1/people/{person.id}/reveal", json={"reason": "сверка договора"}, headers=headers
    )
    if role in REVEAL:
        assert reveal.status_code == 200 and reveal.json() == {"passport": "4510 123456"}
    else:
        assert_problem(reveal, 403, "staff.role_forbidden")
    trail = await client.get(f"/v1/people/{person.id}/audit", headers=headers)
    if role in AUDIT:
        assert trail.status_code == 200
        actions = [(line["action"], line["reason"]) for line in trail.json()]
        expected = [("people.identity_check", "звонок о долге")]
        if role in REVEAL:
            expected.append(("people.passport_reveal", "сверка договора"))
        assert actions == expected
        assert "4510" not in trail.text.replace("4510 123456", "")
    else:
        assert_problem(trail, 403, "staff.role_forbidden")


async def test_refusals_change_nothing(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    person = await _person(db)
    headers = await _signed(client, db, "clerk")
    key = await api_key(db, "admin", name="ops")
    before = await snapshot(db)
    assert_problem(
        await client.get("/v1/people", params={"passport": PASSPORT}, headers=bearer(key)),
        403,
        "auth.wrong_audience",
    )
    assert_problem(
        await client.get("/v1/people", params={"passport": PASSPORT}), 401, "auth.not_authenticated"
    )
    for params, code in (
        ({}, "people.search_ambiguous"),
        ({"passport": PASSPORT, "msisdn": person.msisdn}, "people.search_ambiguous"),
        ({"surname": "Петров"}, "people.search_by_name"),
        ({"passport": "12"}, "passport_malformed"),
        ({"smart_card": "750012345678"}, "lookup_smart_card_needs_chip"),
    ):
        assert_problem(await client.get("/v1/people", params=params, headers=headers), 422, code)
    assert_problem(await _check(client, headers, person, "45 10"), 422, "passport_malformed")
    for body in (
        {},
        {"document_type": "visa", "series_number": PASSPORT, "purpose": "x", "channel": "desk"},
        {
            "document_type": "passport_ru",
            "series_number": PASSPORT,
            "purpose": "",
            "channel": "desk",
        },
        {
            "document_type": "passport_ru",
            "series_number": PASSPORT,
            "purpose": "x",
            "channel": "sms",
        },
    ):
        response = await client.post(
            f"/v1/people/{person.id}/identity-checks", json=body, headers=headers
        )
        assert response.status_code == 422, body
    assert_problem(
        await _check(client, headers, Person(999_999, "", "", "")), 404, "people.not_found"
    )
    for path in ("/v1/people/0", "/v1/people/abc", f"/v1/people/{2**70}"):
        assert (await client.get(path, headers=headers)).status_code == 422
    assert await snapshot(db) == before
