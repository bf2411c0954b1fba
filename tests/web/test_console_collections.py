"""The collections console pages: dashboards (numbers, SVG, CSV) and the court-order button,
each behind its role, CSRF on every form, a refusal changing nothing."""

from __future__ import annotations

import datetime as dt
import io
import re

import httpx
from pypdf import PdfReader
from sqlalchemy import func, select

from abonent.collections import agents
from abonent.collections import service as collections
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.kit.money import format_money
from abonent.models import Account, CollectionAssignment, CourtCase, CourtStageEvent
from abonent.payments import sources
from abonent.payments.agents import service as payment_agents
from abonent.payments.service import PaymentRequest, book_payment
from tests.factories import charge, make_account
from tests.staff.helpers import Employee, make_staff

D = dt.date
STAFF = Actor("staff:7:olga", "collections")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def m(minor: int) -> str:
    return format_money(minor).replace("\u00a0", " ")


def flat(html: str) -> str:
    """The page's text as a reader sees it: tags gone, spaces folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("\u00a0", " ").split())


async def console(client: httpx.AsyncClient, who: Employee) -> str:
    page = await client.get("/console/login")
    token = _CSRF.search(page.text)
    assert token is not None
    done = await client.post(
        "/console/login",
        data={
            "csrf_token": token[1],
            "login": who.login,
            "password": who.password,
            "totp": who.code(),
        },
    )
    assert done.status_code == 303, done.text
    return token[1]


async def csrf_of(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    found = _CSRF.search(page.text)
    assert found is not None, page.text
    return found[1]


async def portfolio(db: Database) -> Account:
    """Debt of several ages and services; an agency holding one account; payments this month."""
    async with db.session(write=True) as s:
        held, (sim, line) = await make_account(s, kinds=("mobile", "internet"))
        other, (tv,) = await make_account(s, kinds=("tv",))
        await charge(s, held, 10_000, due=D(2026, 11, 25), service=sim)  # not yet due
        await charge(s, held, 20_000, due=D(2026, 11, 1), service=line)  # 17 days
        await charge(s, held, 40_000, due=D(2026, 7, 1), service=sim)  # 140 days
        await charge(s, other, 80_000, due=D(2025, 6, 1), service=tv)  # over a year
        agent = await payment_agents.create_agent(
            s, code="AGENCY1", password="agency-secret-1", allowed_ips=["127.0.0.1"], actor=STAFF
        )
        agency = await collections.add_agency(
            s, name="Долг-Контроль", inn="7707083893", actor=STAFF
        )
        await agents.link_agent(s, agency.id, "AGENCY1", actor=STAFF)
        fresh = await s.get_one(Account, held.id)
        await collections.handover(s, fresh, agency.id, actor=STAFF, as_of=D(2026, 11, 2))
        await book_payment(
            s,
            PaymentRequest(
                account=await s.get_one(Account, other.id),
                amount_minor=5_000,
                method="agent",
                source=sources.osmp("AGENCY1"),
                source_txn_id="x1",
                actor=Actor("agent:AGENCY1"),
                agent_id=agent.id,
            ),
        )
    return held


async def test_dashboards_show_the_ledger_numbers(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    held = await portfolio(db)
    await console(client, await make_staff(db, "collections"))
    page = await client.get("/console/dashboards")
    assert page.status_code == 200
    assert page.headers["cache-control"].startswith("no-store")
    text = flat(page.text)
    # The other account paid 50 ₽ of its 800 ₽ (oldest first): 750 ₽ is over a year overdue.
    assert f"Срок не наступил {m(10_000)} 1" in text
    assert f"1–30 дн. {m(20_000)} 1" in text
    assert f"91–180 дн. {m(40_000)} 1" in text
    assert f"более 365 дн. {m(75_000)} 1" in text
    assert f"Итого {m(145_000)}" in text
    assert f"Коллекторские агентства {m(5_000)} 1" in text
    assert f"Долг-Контроль {m(60_000)} 1 {m(60_000)}" in text  # the overdue part only
    assert held.number not in text  # aggregates only

    svg = await client.get("/console/dashboards/ageing.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert "1–30 дн." in svg.text and "<script" not in svg.text
    csv = await client.get("/console/dashboards/services.csv")
    assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
    rows = csv.content.decode("utf-8-sig").splitlines()
    assert rows[0] == "label;amount;count"
    assert "ТВ;750.00;1" in rows
    unknown = await client.get("/console/dashboards/secret.csv")
    assert unknown.status_code == 404 and "dashboard_not_found" in unknown.text


async def test_roles_and_sign_in(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    away = await client.get("/console/dashboards")
    assert away.status_code == 303 and away.headers["location"].startswith("/console/login")
    await console(client, await make_staff(db, "hotline"))
    for path in ("/console/dashboards", "/console/dashboards/ageing.svg", "/console/court"):
        refused = await client.get(path)
        assert refused.status_code == 403, path
    assert "/console/dashboards" not in (await client.get("/console")).text


async def test_court_button_builds_prints_and_records(
    db: Database, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    held = await portfolio(db)
    await console(client, await make_staff(db, "collections"))

    async def counts() -> tuple[int, int]:
        async with db.session() as s:
            return (
                await s.scalar(select(func.count()).select_from(CourtCase)) or 0,
                await s.scalar(select(func.count()).select_from(CourtStageEvent)) or 0,
            )

    token = await csrf_of(client, "/console/court")
    forged = await client.post(
        "/console/court/package", data={"account": held.number, "csrf_token": "x"}
    )
    assert forged.status_code == 403
    bad_date = await client.post(
        "/console/court/package",
        data={"account": held.number, "as_of": "32.13.2026", "csrf_token": token},
    )
    assert bad_date.status_code == 422 and "console.date" in bad_date.text
    # The court form's date is no birth date (the search page's words are its own).
    assert "Дата не распознана" in bad_date.text and "рождения" not in bad_date.text
    assert await counts() == (0, 0)
    # The agency still holds the debt: its stage is not over, so no application yet.
    held_by_agency = await client.post(
        "/console/court/package",
        data={"account": held.number, "as_of": "18.11.2026", "csrf_token": token},
    )
    assert held_by_agency.status_code == 422
    assert "court_agency_stage_active" in held_by_agency.text
    assert await counts() == (0, 0)
    async with db.session(write=True) as s:
        assignment = await s.scalar(select(CollectionAssignment.id))
        assert assignment is not None
        await collections.recall(s, assignment, actor=STAFF, as_of=D(2026, 11, 17))

    built = await client.post(
        "/console/court/package",
        data={"account": held.number, "as_of": "18.11.2026", "csrf_token": token},
    )
    assert built.status_code == 303, built.text
    case_url = built.headers["location"]
    page = flat((await client.get(case_url)).text)
    assert (
        f"Требование {m(60_000)}" in page
    )  # what is overdue and owed: 200 + 400 ₽ (the 100 ₽ is not yet due... but owed)
    pdf = await client.get(case_url + "/application.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = " ".join((PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text() or "").split())
    assert "Заявление о вынесении судебного приказа" in text

    again = await client.post(
        "/console/court/package", data={"account": held.number, "csrf_token": token}
    )
    assert again.status_code == 409 and "court_case_open" in again.text
    wrong = await client.post(case_url + "/stage", data={"stage": "enforced", "csrf_token": token})
    assert wrong.status_code == 409
    assert await counts() == (1, 1)
    filed = await client.post(
        case_url + "/stage",
        data={"stage": "filed", "on": "20.11.2026", "note": "участок № 5", "csrf_token": token},
    )
    assert filed.status_code == 303
    assert "20.11.2026 — заявление подано" in flat((await client.get(case_url)).text)
    assert await counts() == (1, 2)
    missing = await client.get("/console/court/999999")
    assert missing.status_code == 404
