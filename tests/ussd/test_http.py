"""USSD dialogues end to end over HTTP, as a subscriber's phone sees them."""

from __future__ import annotations

import datetime as dt
import itertools

import httpx
import pytest
from sqlalchemy import select

from abonent.accounts import service as accounts
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import Account, OutboxMessage, PromisedPayment, Service
from abonent.promised import service as promised
from tests.factories import ACTOR, charge, make_account, pay
from tests.promised.helpers import D, ledger_counts, pay_by_api, subscriber

_ids = itertools.count(1)


async def dial(
    client: httpx.AsyncClient, phone: str, code: str, text: str = "", session: str | None = None
) -> tuple[str, str]:
    r = await client.post(
        "/ussd/callback",
        data={
            "sessionId": session or f"s{next(_ids)}",
            "serviceCode": code,
            "phoneNumber": phone,
            "networkCode": "25001",
            "text": text,
        },
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    kind, _, screen = r.text.partition(" ")
    assert kind in ("CON", "END")
    assert len(screen) <= 80, screen  # Cyrillic: UCS-2, 80 characters
    return kind, screen


async def _sms(db: Database) -> list[str]:
    async with db.session() as s:
        rows = (
            await s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.topic == "sms.send")
                .order_by(OutboxMessage.id)
            )
        ).all()
    return [str(m.payload["text"]) for m in rows]


async def test_balance_of_an_account_in_credit(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s, credit_limit_minor=10_000)
        await pay(s, account, 125_000)
    async with db.session() as s:
        before = await ledger_counts(s)
    assert await dial(client, sim.msisdn or "", "*100#") == (
        "END",
        f"Баланс 1 250,00 ₽\nДоступно 1 350,00 ₽\nЛС {account.number}\nДетали в SMS",
    )
    async with db.session() as s:
        assert await ledger_counts(s) == before  # an inquiry posts nothing
    assert await _sms(db) == [
        f"ЛС ****{account.number[-4:]}: баланс 1 250,00 ₽, долга нет. Доступно 1 350,00 ₽."
    ]
    async with db.session() as s:
        message = await s.scalar(select(OutboxMessage).where(OutboxMessage.topic == "sms.send"))
    assert message is not None
    assert message.payload["to"] == sim.msisdn
    assert message.payload["category"] == "service"


async def test_debt_on_one_service(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 105_000, due=D(2026, 11, 10), service=sim)
        await charge(s, account, 20_000, due=D(2026, 11, 30), service=sim)
    # A number typed the usual Russian way is the same subscriber.
    phone = "8" + (sim.msisdn or "")[2:]
    # The overdue line gave way (87 characters with it); the SMS has it.
    assert await dial(client, phone, "*100#") == (
        "END",
        f"Долг 1 250,00 ₽\nДоступно -1 250,00 ₽\nЛС {account.number}\nДетали в SMS",
    )
    assert await _sms(db) == [
        f"ЛС ****{account.number[-4:]}: долг 1 250,00 ₽, просрочено 1 050,00 ₽, срок оплаты "
        f"30.11.2026. Мобильная связь {sim.label}: 1 250,00 ₽ (просрочено 1 050,00 ₽). "
        "Доступно -1 250,00 ₽."
    ]


async def test_debt_on_several_services_fits_one_screen(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    async with db.session(write=True) as s:
        account, (sim, line, tv) = await make_account(s, kinds=("mobile", "internet", "tv"))
        await charge(s, account, 80_000, due=D(2026, 11, 10), service=sim)
        await charge(s, account, 1_250_000, due=D(2026, 11, 10), service=line)
        await charge(s, account, 30_050, due=D(2026, 11, 25), service=tv)
    kind, screen = await dial(client, sim.msisdn or "", "*100#")
    # The optional lines (overdue, "details by SMS") gave way first, then the smallest service.
    assert (kind, screen) == (
        "END",
        f"Долг 13 600,50 ₽\nИнт. 12 500; Моб. 800; …\nДоступно -13 600,50 ₽\nЛС {account.number}",
    )
    (sms,) = await _sms(db)
    assert "Интернет" in sms and "ТВ" in sms and "(просрочено 12 500,00 ₽)" in sms


async def test_closing_screens(client: httpx.AsyncClient, db: Database, clock: FrozenClock) -> None:
    async with db.session(write=True) as s:
        suspended, (sim1,) = await make_account(s)
        await charge(s, suspended, 50_000, due=D(2026, 11, 1), service=sim1)
        await accounts.change_account_status(s, suspended, "suspended", actor=ACTOR, reason="t")
        closed, (sim2, sim3) = await make_account(s, kinds=("mobile", "mobile"))
        await charge(s, closed, 10_000, due=D(2026, 11, 1), service=sim2)
        service = await s.get(Service, sim3.id)
        assert service is not None
        await accounts.change_service_status(s, service, "closed", actor=ACTOR, reason="t")
        acc = await s.get(Account, closed.id)
        assert acc is not None
        await accounts.change_account_status(s, acc, "closed", actor=ACTOR, reason="t")
    hotline = get_settings().hotline
    assert await dial(client, sim1.msisdn or "", "*100#") == (
        "END",
        f"ЛС {suspended.number} приостановлен\nДолг 500,00 ₽\nСправки {hotline}",
    )
    assert await dial(client, sim3.msisdn or "", "*100#") == (
        "END",
        f"Номер отключён\nДолг по ЛС {closed.number}:\n100,00 ₽\nСправки {hotline}",
    )
    # Closing the account closed its SIMs; the account keeps its debt, and the screen says so.
    assert await dial(client, sim2.msisdn or "", "*100#") == (
        "END",
        f"Номер отключён\nДолг по ЛС {closed.number}:\n100,00 ₽\nСправки {hotline}",
    )
    assert await dial(client, "+79990000000", "*100#") == (
        "END",
        f"Номер не обслуживается. Справки: {hotline}",
    )
    assert await dial(client, "not a phone", "*100#") == (
        "END",
        f"Номер не обслуживается. Справки: {hotline}",
    )
    assert await _sms(db) == []


async def test_promised_offer_take_in_force_repaid_and_expiry(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, (sim,) = await subscriber(db, clock)
    phone = sim.msisdn or ""
    async with db.session() as s:
        before = await ledger_counts(s)
    menu = "Обещанный платёж до 21.11:\n1 100 ₽, +10 ₽\n2 200 ₽, +10 ₽\n3 300 ₽, +25 ₽\n0 Отмена"
    assert await dial(client, phone, "*100*3#", session="p1") == ("CON", menu)
    # The transport retries the same step: the same screen, nothing done.
    assert await dial(client, phone, "*100*3#", session="p1") == ("CON", menu)
    assert await dial(client, phone, "*100*3#", "0", session="p1") == ("END", "Отменено.")
    async with db.session() as s:
        assert await ledger_counts(s) == before  # offering, cancelling: nothing posted
    assert await dial(client, phone, "*100*3#", session="p2") == ("CON", menu)
    assert await dial(client, phone, "*100*3#", "3", session="p2") == (
        "END",
        "Обещанный платёж 300,00 ₽ подключён\nдо 21.11.2026\nПлата 25,00 ₽",
    )
    in_force = (
        "END",
        "Обещанный платёж 300,00 ₽ до 21.11.2026\nПлата 25,00 ₽, к возврату 275,00 ₽",
    )
    assert await dial(client, phone, "*100*3#") == in_force
    kind, screen = await dial(client, phone, "*100#")
    assert (
        screen == f"Долг 275,00 ₽\nДоступно -275,00 ₽\nОбещ. платёж до 21.11\nЛС {account.number}"
    )
    await pay_by_api(db, account, 10_000, "t1")
    assert await dial(client, phone, "*100*3#") == (
        "END",
        "Обещанный платёж 300,00 ₽ до 21.11.2026\nПлата 25,00 ₽, к возврату 175,00 ₽",
    )
    # Expiry with debt: the job twice, then what is unpaid is overdue.
    clock.at = dt.datetime(2026, 11, 22, 8, tzinfo=dt.UTC)
    for expected in ({"repaid": 0, "expired": 1}, {"repaid": 0, "expired": 0}):
        async with db.session(write=True) as s:
            ended, _ = await promised.end_due(s)
        assert ended.as_dict() == expected
    kind, screen = await dial(client, phone, "*100#")
    assert screen == f"Долг 175,00 ₽\nДоступно -175,00 ₽\nЛС {account.number}\nДетали в SMS"
    assert (await _sms(db))[-1].startswith(
        f"ЛС ****{account.number[-4:]}: долг 175,00 ₽, просрочено 175,00 ₽. "
    )
    # Still overdue and taken once this month: a new offer (of what covers the 175).
    kind, screen = await dial(client, phone, "*100*3#")
    assert (kind, screen) == (
        "CON",
        "Обещанный платёж до 25.11:\n1 100 ₽, +10 ₽\n2 200 ₽, +10 ₽\n0 Отмена",
    )


async def test_promised_repaid_by_a_payment_then_not_needed(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    account, (sim,) = await subscriber(db, clock)
    phone = sim.msisdn or ""
    await dial(client, phone, "*100*3#", session="r1")
    await dial(client, phone, "*100*3#", "1", session="r1")
    async with db.session() as s:
        row = await s.scalar(select(PromisedPayment))
    assert row is not None and row.amount_minor == 10_000 and row.channel == "ussd"
    await pay_by_api(db, account, 26_000, "t1")  # 100 repayment + 10 fee + the 150 left of the debt
    assert await dial(client, phone, "*100*3#") == ("END", "Не нужен: просроченного долга нет")


async def test_every_refusal_fits_a_screen(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    _account, (sim,) = await subscriber(db, clock, overdue=((0, 200_000),))
    assert await dial(client, sim.msisdn or "", "*100*3#") == (
        "END",
        "Не подключён: долг 2 000,00 ₽ больше допустимых 1 500,00 ₽",
    )
    _young, (sim2,) = await subscriber(db, clock, opened_days_ago=5)
    assert await dial(client, sim2.msisdn or "", "*100*3#") == (
        "END",
        "Не подключён: счёт открыт менее 30 дней назад",
    )


async def test_garbage_expiry_repeated_and_unknown(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    _account, (sim,) = await subscriber(db, clock)
    phone = sim.msisdn or ""
    async with db.session() as s:
        before = await ledger_counts(s)
    await dial(client, phone, "*100*3#", session="g1")
    assert await dial(client, phone, "*100*3#", "7", session="g1") == (
        "END",
        "Нет пункта «7». Наберите команду ещё раз.",
    )
    await dial(client, phone, "*100*3#", session="g2")
    assert await dial(client, phone, "*100*3#", "abc", session="g2") == (
        "END",
        "Нет пункта «abc». Наберите команду ещё раз.",
    )
    # Out of sync: two inputs at once on a session that showed one menu.
    await dial(client, phone, "*100*3#", session="g3")
    assert await dial(client, phone, "*100*3#", "1*1", session="g3") == (
        "END",
        "Сеанс прерван. Наберите команду ещё раз.",
    )
    # Expired: 181 s after the menu.
    await dial(client, phone, "*100*3#", session="g4")
    clock.advance(seconds=181)
    assert await dial(client, phone, "*100*3#", "1", session="g4") == (
        "END",
        "Время ожидания истекло. Наберите команду ещё раз.",
    )
    # A new dialogue reusing an ended session's id.
    assert await dial(client, phone, "*100#", session="g1") == (
        "END",
        "Сеанс уже завершён. Наберите команду ещё раз.",
    )
    # A continuation nobody started.
    assert await dial(client, phone, "*100*3#", "1", session="g9") == (
        "END",
        "Время ожидания истекло. Наберите команду ещё раз.",
    )
    assert await dial(client, phone, "*111#") == (
        "END",
        "Неизвестная команда. Баланс и долг: *100#",
    )
    async with db.session() as s:
        assert await ledger_counts(s) == before


async def test_gateway_passing_the_suffix_as_text(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    _account, (sim,) = await subscriber(db, clock)
    kind, screen = await dial(client, sim.msisdn or "", "*100#", "3", session="x1")
    assert kind == "CON" and screen.startswith("Обещанный платёж до 21.11:")
    assert await dial(client, sim.msisdn or "", "*100#", "3*1", session="x1") == (
        "END",
        "Обещанный платёж 100,00 ₽ подключён\nдо 21.11.2026\nПлата 10,00 ₽",
    )


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"sessionId": "a", "serviceCode": "*100#"},
        {"sessionId": "a" * 65, "serviceCode": "*100#", "phoneNumber": "+79161234567"},
        {"sessionId": "a", "serviceCode": "*100#", "phoneNumber": "+7916", "text": "1" * 183},
        {"sessionId": "a\x00", "serviceCode": "*100#", "phoneNumber": "+79161234567"},
    ],
)
async def test_malformed_requests_get_a_closing_answer(
    client: httpx.AsyncClient, data: dict[str, str]
) -> None:
    r = await client.post("/ussd/callback", data=data)
    assert (r.status_code, r.text) == (200, "END Запрос отклонён.")


async def test_bodies_that_are_not_forms(client: httpx.AsyncClient) -> None:
    r = await client.post("/ussd/callback", content=b"\xff\xfe" * 10)
    assert (r.status_code, r.text) == (200, "END Запрос отклонён.")
    r = await client.post("/ussd/callback", content=b"x" * 5000)
    assert (r.status_code, r.text) == (200, "END Запрос отклонён.")


async def test_only_the_aggregator_may_call(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import SecretStr

    from abonent.app import create_app

    app = create_app(db)
    form = {"sessionId": "z", "serviceCode": "*100#", "phoneNumber": "+79990000000"}
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post("/ussd/callback", data=form)
        assert (r.status_code, r.text) == (403, "END Доступ запрещён.")
        monkeypatch.setattr(app.state.settings.ussd, "shared_secret", SecretStr("s3cret"))
        r = await c.post("/ussd/callback", data=form, headers={"X-Ussd-Secret": "wrong"})
        assert r.status_code == 403
        r = await c.post("/ussd/callback", data=form, headers={"X-Ussd-Secret": "s3cret"})
        assert r.status_code == 200 and r.text.startswith("END Номер не обслуживается")
        monkeypatch.setattr(app.state.settings.ussd, "allowed_networks", ["10.1.0.0/16"])
        r = await c.post("/ussd/callback", data=form)
        assert r.status_code == 200


async def test_a_failure_is_a_plain_closing_screen(
    client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from abonent.ussd import service as ussd_service

    async def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(ussd_service.repo, "session_for_update", broken)
    r = await client.post(
        "/ussd/callback",
        data={"sessionId": "f", "serviceCode": "*100#", "phoneNumber": "+79161234567"},
    )
    assert (r.status_code, r.text) == (200, "END Сервис временно недоступен. Попробуйте позже.")


async def test_the_registered_route_answers_as_the_lane_does(db: Database) -> None:
    from fastapi import FastAPI

    from abonent.api import ussd

    bare = FastAPI()
    bare.state.db = db
    bare.state.settings = get_settings()
    bare.include_router(ussd.router)
    form = {"sessionId": "route-1", "serviceCode": "*100#", "phoneNumber": "+79990000000"}
    transport = httpx.ASGITransport(app=bare, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post("/ussd/callback", data=form)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text == f"END Номер не обслуживается. Справки: {get_settings().hotline}"
    assert "/ussd/callback" in bare.openapi()["paths"]
