"""Actions on a checked person: the statement of debt PDF, the details by SMS."""

from __future__ import annotations

import io

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.kit.money import format_money
from abonent.models import Account, AccountBalance, AuditEvent, OutboxMessage
from abonent.staff.roles import ROLES
from tests.api.helpers import assert_problem, snapshot
from tests.people.test_people import _check, _person, _signed

PDF_ROLES = {"clerk", "collections", "supervisor"}
SMS_ROLES = {"clerk", "hotline"}


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_statement_of_debt_matches_the_ledger(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    person = await _person(db)
    headers = await _signed(client, db, "clerk")
    await _check(client, headers, person)
    response = await client.get(f"/v1/people/{person.id}/statement-of-debt.pdf", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = " ".join(_text(response.content).split())
    async with db.session() as session:
        debts = dict(
            (
                await session.execute(
                    select(Account.number, AccountBalance.debt_minor)
                    .join(AccountBalance, AccountBalance.account_id == Account.id)
                    .where(Account.customer_id == person.id)
                )
            ).all()
        )
    assert debts == {person.mobile_number: 45_000, person.tv_number: 30_050}

    def money(minor: int) -> str:
        return " ".join(format_money(minor).split())

    assert "Справка о задолженности" in text
    assert "Абонент: Петров Пётр Петрович" in text
    assert "Дата: 18.11.2026" in text
    assert f"Лицевой счёт {person.mobile_number}" in text
    assert f"Задолженность: {money(45_000)}; просрочено: {money(45_000)}" in text
    assert f"Задолженность: {money(30_050)}; просрочено: {money(0)}" in text
    assert "01.11.2026" in text and "05.12.2026" in text
    assert f"Итого задолженность: {money(sum(debts.values()))}" in text
    assert money(75_050) == "750,50 ₽"


async def test_details_by_sms_go_to_the_number_on_file_through_the_outbox(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    person = await _person(db)
    headers = await _signed(client, db, "hotline")
    await _check(client, headers, person)
    response = await client.post(
        f"/v1/people/{person.id}/sms-details",
        json={"account_number": person.mobile_number},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"sent_to": "+7 916 ***-**-33"}
    async with db.session() as session:
        [message] = (await session.scalars(select(OutboxMessage))).all()
        [event] = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "people.sms_details")
            )
        ).all()
    assert message.topic == "sms.send"
    assert message.payload["to"] == "+79161112233"
    assert message.payload["kind"] == "staff_details"
    assert message.payload["text"] == (
        f"Лицевой счёт ****{person.mobile_number[-4:]}: задолженность 450,00\xa0₽ "
        "(+7 916 111-22-33 450,00\xa0₽), просрочено 450,00\xa0₽. Доступно: -450,00\xa0₽. "
        "Справки: 8-800-250-08-90."
    )
    assert event.object_id == str(person.id)


@pytest.mark.parametrize("role", ROLES)
async def test_actions_by_role(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock, role: str
) -> None:
    person = await _person(db)
    headers = await _signed(client, db, role)
    # Without a check nobody gets anything.
    for response in (
        await client.get(f"/v1/people/{person.id}/statement-of-debt.pdf", headers=headers),
        await client.post(
            f"/v1/people/{person.id}/sms-details",
            json={"account_number": person.mobile_number},
            headers=headers,
        ),
    ):
        assert response.status_code == 403
    await _check(client, headers, person)
    pdf = await client.get(f"/v1/people/{person.id}/statement-of-debt.pdf", headers=headers)
    if role in PDF_ROLES:
        assert pdf.status_code == 200
    else:
        assert_problem(pdf, 403, "staff.role_forbidden")
    sms = await client.post(
        f"/v1/people/{person.id}/sms-details",
        json={"account_number": person.mobile_number},
        headers=headers,
    )
    if role in SMS_ROLES:
        assert sms.status_code == 202
    else:
        assert_problem(sms, 403, "staff.role_forbidden")


async def test_sms_for_someone_elses_account_changes_nothing(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    from tests.factories import make_account

    person = await _person(db)
    async with db.session(write=True) as session:
        stranger, _ = await make_account(session)
        number = stranger.number
    headers = await _signed(client, db, "clerk")
    await _check(client, headers, person)
    before = await snapshot(db)
    assert_problem(
        await client.post(
            f"/v1/people/{person.id}/sms-details", json={"account_number": number}, headers=headers
        ),
        404,
        "people.account_not_theirs",
    )
    assert_problem(
        await client.post(
            f"/v1/people/{person.id}/sms-details", json={"account_number": "12"}, headers=headers
        ),
        422,
        "account_number_format",
    )
    assert await snapshot(db) == before
