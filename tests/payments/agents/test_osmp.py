"""OSMP conformance: every result code where it applies, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import service as accounts
from abonent.db.uow import Database
from abonent.kit.numbers import generate_account_number
from abonent.models import Account, AuditEvent, Payment
from abonent.payments.agents import osmp as osmp_protocol
from abonent.payments.agents import service as agents
from abonent.statement.service import statement_for
from tests.factories import ACTOR, charge, make_account
from tests.payments.agents.conftest import (
    PASSWORD,
    Osmp,
    build_client,
    make_agent,
    snapshot,
)

D = dt.date


async def debtor(db: Database, debt_minor: int = 123_456, *, status: str = "active") -> Account:
    """An account owing ``debt_minor`` (0: owes nothing), in ``status``."""
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        if debt_minor:
            await charge(s, account, debt_minor, due=D(2026, 10, 15), service=sim)
        if status != "active":
            await accounts.change_account_status(s, account, status, actor=ACTOR, reason="test")
    return account


def unknown_number() -> str:
    return generate_account_number(random.Random(99))


def mistyped(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


async def payments_of(db: Database) -> list[Payment]:
    async with db.session() as s:
        return list(await s.scalars(select(Payment).order_by(Payment.id)))


async def balance_of(db: Database, account: Account) -> tuple[int, int]:
    async with db.session() as s:
        st = await statement_for(s, account, today=D(2026, 11, 18))
    return st.balance_minor, st.debt_minor


# --- check ---------------------------------------------------------------------------------------


async def test_check_accepts_and_writes_nothing(db: Database, osmp: Osmp, clock) -> None:
    account = await debtor(db)
    await make_agent(db)
    before = await snapshot(db)
    reply = await osmp.check("1001", account.number, "100.50")
    assert (reply.status, reply.result, reply.comment) == (200, 0, "OK")
    assert (reply.osmp_txn_id, reply.prv_txn, reply.sum) == ("1001", "", "100.50")
    assert reply.fields == {}  # disclosure 'none' reveals nothing about the holder
    assert "Иван" not in reply.body and "1234.56" not in reply.body
    assert await snapshot(db) == before


async def test_check_with_masked_disclosure_shows_masked_name_and_debt(
    db: Database, osmp: Osmp, clock
) -> None:
    account = await debtor(db, 123_456)
    await make_agent(db, disclosure="masked")
    reply = await osmp.check("1002", account.number, "500")
    assert reply.result == 0
    assert reply.fields == {"fio": "И***** И. И.", "debt": "1234.56"}
    assert "Иванов" not in reply.body


async def test_check_and_pay_by_post_form(db: Database, osmp: Osmp, clock) -> None:
    account = await debtor(db, 10_000)
    await make_agent(db)
    checked = await osmp(
        {"command": "check", "txn_id": "77", "account": account.number, "sum": "10.00"},
        method="POST",
    )
    assert (checked.status, checked.result, checked.sum) == (200, 0, "10.00")
    paid = await osmp.pay("77", account.number, "10.00", method="POST")
    assert paid.result == 0 and paid.prv_txn == str((await payments_of(db))[0].id)
    assert await balance_of(db, account) == (-9_000, 9_000)


async def test_multipart_post_and_query_string_on_post(db: Database, osmp: Osmp, clock) -> None:
    account = await debtor(db, 0)
    await make_agent(db)
    response = await osmp.client.post(
        "/agents/osmp/SBER?command=pay&txn_id=5&txn_date=20261118150000",
        files={"account": (None, account.number), "sum": (None, "3.00")},
        auth=(osmp.code, osmp.password),
    )
    assert response.status_code == 200 and "<result>0</result>" in response.text
    assert [p.amount_minor for p in await payments_of(db)] == [300]


# --- pay -----------------------------------------------------------------------------------------


async def test_pay_books_once_with_everything_recorded(db: Database, osmp: Osmp, clock) -> None:
    account = await debtor(db, 123_456)
    agent = await make_agent(db)
    reply = await osmp.pay("20001", account.number, "1000.00", txn_date="20261118150000")
    assert (reply.status, reply.result, reply.comment, reply.sum) == (200, 0, "OK", "1000.00")
    (payment,) = await payments_of(db)
    assert reply.prv_txn == str(payment.id)
    assert (payment.amount_minor, payment.currency, payment.method) == (100_000, "RUB", "agent")
    assert (payment.source, payment.source_txn_id, payment.agent_id) == (
        "osmp:SBER",
        "20001",
        agent.id,
    )
    assert payment.status == "succeeded" and payment.actor == "agent:SBER"
    # 15:00 in Moscow (the operator's time zone) is 12:00 UTC.
    assert payment.txn_date == dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)
    assert await balance_of(db, account) == (-23_456, 23_456)
    async with db.session() as s:
        audit = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "payment.book"))
        ).one()
    assert (audit.actor, audit.object_id) == ("agent:SBER", str(payment.id))


async def test_replay_books_nothing_and_answers_the_same_prv_txn(
    db: Database, osmp: Osmp, clock
) -> None:
    account = await debtor(db, 50_000)
    await make_agent(db)
    first = await osmp.pay("31", account.number, "200.00")
    after_first = await snapshot(db)
    for method in ("GET", "POST"):
        again = await osmp.pay("31", account.number, "200.00", method=method)
        assert (again.status, again.result, again.prv_txn, again.sum) == (
            200,
            0,
            first.prv_txn,
            "200.00",
        )
    # A retry carrying another txn_date is still the same payment (the date is not part of it).
    again = await osmp.pay("31", account.number, "200.00", txn_date="20261119100000")
    assert (again.result, again.prv_txn) == (0, first.prv_txn)
    assert await snapshot(db) == after_first
    assert await balance_of(db, account) == (-30_000, 30_000)


@pytest.mark.parametrize(
    "change", ["sum", "account", "unknown account", "mistyped account", "currency"]
)
async def test_same_txn_id_with_other_details_is_refused_and_audited(
    db: Database, osmp: Osmp, clock, change: str
) -> None:
    account = await debtor(db, 50_000)
    other = await debtor(db, 50_000)
    await make_agent(db)
    first = await osmp.pay("4242", account.number, "200.00")
    assert first.result == 0
    before = await snapshot(db)
    number, amount, extra = account.number, "200.00", {}
    if change == "sum":
        amount = "200.01"
    elif change == "account":
        number = other.number
    elif change == "unknown account":
        number = unknown_number()
    elif change == "mistyped account":
        number = mistyped(account.number)
    else:
        extra = {"ccy": "USD"}
    reply = await osmp.pay("4242", number, amount, **extra)
    assert (reply.status, reply.result, reply.prv_txn) == (200, 300, "")
    assert "already booked with another account or amount" in reply.comment
    after = await snapshot(db)
    # Only the audit trail grew, by exactly the one event telling what happened.
    assert after["balances"] == before["balances"]
    assert after["counts"] == {
        **before["counts"],
        "audit_events": before["counts"]["audit_events"] + 1,
    }
    async with db.session() as s:
        event = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "osmp.txn_mismatch"))
        ).one()
    assert (event.actor, event.object_type, event.object_id) == (
        "agent:SBER",
        "payment",
        first.prv_txn,
    )
    assert event.details["txn_id"] == "4242"
    assert event.details["account"] == number
    assert event.details["amount_minor"] == int(amount.replace(".", ""))
    # The original is untouched and still answers as itself.
    assert (await osmp.pay("4242", account.number, "200.00")).prv_txn == first.prv_txn


async def test_txn_ids_are_per_agent(db: Database, app: FastAPI, osmp: Osmp, clock) -> None:
    account = await debtor(db, 0)
    await make_agent(db, "SBER")
    await make_agent(db, "TINK")
    a = await osmp.pay("1", account.number, "10.00")
    b = await Osmp(osmp.client, "TINK").pay("1", account.number, "10.00")
    assert a.result == b.result == 0 and a.prv_txn != b.prv_txn
    assert [p.source for p in await payments_of(db)] == ["osmp:SBER", "osmp:TINK"]


# --- account results: 4, 5, 79, 7 ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "pay"])
async def test_account_format_and_unknown_account(
    db: Database, osmp: Osmp, clock, command: str
) -> None:
    account = await debtor(db)
    await make_agent(db)
    before = await snapshot(db)
    call = osmp.check if command == "check" else osmp.pay
    for number, result in [
        ("12345", 4),
        ("ABCDEFGHIJKL", 4),
        ("1" * 40, 4),
        (mistyped(account.number), 4),
        (unknown_number(), 5),
    ]:
        reply = await call("9", number, "10.00")
        assert (reply.status, reply.result, reply.prv_txn) == (200, result, ""), number
    assert await snapshot(db) == before


async def test_account_number_with_spaces_is_found(db: Database, osmp: Osmp, clock) -> None:
    account = await debtor(db, 0)
    await make_agent(db)
    spaced = f"{account.number[:4]} {account.number[4:8]} {account.number[8:]}"
    assert (await osmp.pay("1", spaced, "1.00")).result == 0


@pytest.mark.parametrize("command", ["check", "pay"])
async def test_closed_account_without_debt_is_79(
    db: Database, osmp: Osmp, clock, command: str
) -> None:
    account = await debtor(db, 0, status="closed")
    await make_agent(db)
    before = await snapshot(db)
    call = osmp.check if command == "check" else osmp.pay
    reply = await call("9", account.number, "10.00")
    assert (reply.result, reply.prv_txn) == (79, "")
    assert await snapshot(db) == before


async def test_closed_account_with_debt_takes_up_to_its_debt(
    db: Database, osmp: Osmp, clock
) -> None:
    account = await debtor(db, 10_000, status="closed")
    await make_agent(db)
    before = await snapshot(db)
    for call in (osmp.check, osmp.pay):
        over = await call("9", account.number, "100.01")
        assert (over.result, over.prv_txn) == (7, "")
    assert await snapshot(db) == before
    assert (await osmp.check("9", account.number, "100.00")).result == 0
    paid = await osmp.pay("9", account.number, "100.00")
    assert paid.result == 0
    assert await balance_of(db, account) == (0, 0)
    # Now it owes nothing: closed and not payable.
    assert (await osmp.pay("10", account.number, "1.00")).result == 79


async def test_suspended_account_with_debt_accepts_payment(db: Database, osmp: Osmp, clock) -> None:
    account = await debtor(db, 10_000, status="suspended")
    await make_agent(db)
    assert (await osmp.check("1", account.number, "500.00")).result == 0
    assert (await osmp.pay("1", account.number, "500.00")).result == 0
    assert await balance_of(db, account) == (40_000, 0)


@pytest.mark.parametrize(
    ("ccy", "result"), [("RUB", 0), ("643", 0), ("RUR", 0), ("rub", 0), ("USD", 7), ("840", 7)]
)
async def test_currency(db: Database, osmp: Osmp, clock, ccy: str, result: int) -> None:
    account = await debtor(db, 0)
    await make_agent(db)
    before = await snapshot(db)
    assert (await osmp.check("1", account.number, "5.00", ccy=ccy)).result == result
    reply = await osmp.pay("1", account.number, "5.00", ccy=ccy)
    assert reply.result == result
    if result:
        assert await snapshot(db) == before
    else:
        assert [(p.amount_minor, p.currency) for p in await payments_of(db)] == [(500, "RUB")]


# --- amount limits: 241, 242 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "result", "kopecks"),
    [
        ("0.99", 241, None),
        ("0", 241, None),
        ("0.00", 241, None),
        ("1.00", 0, 100),
        ("1", 0, 100),
        ("1,5", 0, 150),
        ("15000.00", 0, 1_500_000),
        ("15000", 0, 1_500_000),
        ("15000.01", 242, None),
        ("999999999", 242, None),
    ],
)
async def test_amount_limits_at_and_beyond(
    db: Database, osmp: Osmp, clock, amount: str, result: int, kopecks: int | None
) -> None:
    account = await debtor(db, 0)
    await make_agent(db, min_sum_minor=100, max_sum_minor=1_500_000)
    before = await snapshot(db)
    checked = await osmp.check("1", account.number, amount)
    assert checked.result == result
    assert await snapshot(db) == before
    reply = await osmp.pay("1", account.number, amount)
    assert reply.result == result
    if result:
        assert reply.prv_txn == "" and await snapshot(db) == before
    else:
        assert reply.sum == checked.sum == f"{kopecks // 100}.{kopecks % 100:02d}"
        assert [p.amount_minor for p in await payments_of(db)] == [kopecks]


async def test_replay_after_limits_changed_still_answers_the_payment(
    db: Database, osmp: Osmp, clock
) -> None:
    account = await debtor(db, 0)
    await make_agent(db, max_sum_minor=1_500_000)
    first = await osmp.pay("1", account.number, "15000.00")
    async with db.session(write=True) as s:
        agent = await agents.get_agent(s, "SBER")
        agent.max_sum_minor = 100_000
    replay = await osmp.pay("1", account.number, "15000.00")
    assert (replay.result, replay.prv_txn) == (0, first.prv_txn)
    assert (await osmp.pay("2", account.number, "15000.00")).result == 242


# --- malformed: 300 ------------------------------------------------------------------------------


MALFORMED = {
    "no command": {"command": None},
    "unknown command": {"command": "refund"},
    "no txn_id": {"txn_id": None},
    "txn_id not numeric": {"txn_id": "12a"},
    "txn_id negative": {"txn_id": "-12"},
    "txn_id too long": {"txn_id": "1" * 21},
    "txn_id trailing newline": {"txn_id": "123\n"},
    "txn_id other digits": {"txn_id": "١٢٣"},
    "txn_date other digits": {"txn_date": "٢٠٢٦١١١٨١٥٠٠٠٠"},
    "no account": {"account": None},
    "empty account": {"account": ""},
    "no sum": {"sum": None},
    "sum three decimals": {"sum": "10.005"},
    "sum not a number": {"sum": "ten"},
    "sum exponent": {"sum": "1e3"},
    "sum negative": {"sum": "-5.00"},
    "no txn_date": {"txn_date": None},
    "txn_date short": {"txn_date": "2026111815000"},
    "txn_date month 13": {"txn_date": "20261318150000"},
    "txn_date letters": {"txn_date": "2026-11-18T15:0"},
    "ccy not a code": {"ccy": "RUBLES"},
}


@pytest.mark.parametrize("case", list(MALFORMED))
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_malformed_requests_are_300_and_change_nothing(
    db: Database, osmp: Osmp, clock, case: str, method: str
) -> None:
    account = await debtor(db)
    await make_agent(db)
    params: dict[str, str | None] = {
        "command": "pay",
        "txn_id": "555",
        "account": account.number,
        "sum": "10.00",
        "txn_date": "20261118150000",
    }
    params.update(MALFORMED[case])
    sent = {k: v for k, v in params.items() if v is not None}
    before = await snapshot(db)
    reply = await osmp(sent, method=method)
    assert (reply.status, reply.result, reply.prv_txn) == (200, 300, "")
    assert reply.osmp_txn_id == sent.get("txn_id", "")[:64]
    assert await snapshot(db) == before


async def test_check_needs_no_txn_date(db: Database, osmp: Osmp, clock) -> None:
    account = await debtor(db)
    await make_agent(db)
    assert (await osmp.check("1", account.number, "10.00")).result == 0
    bad_date = await osmp.check("1", account.number, "10.00", txn_date="garbage")
    assert bad_date.result == 0  # check ignores txn_date


async def test_a_parameter_given_twice_differently_is_300(db: Database, osmp: Osmp, clock) -> None:
    account = await debtor(db)
    await make_agent(db)
    before = await snapshot(db)
    reply = await osmp(
        [
            ("command", "pay"),
            ("txn_id", "1"),
            ("account", account.number),
            ("sum", "10.00"),
            ("sum", "20.00"),
            ("txn_date", "20261118150000"),
        ]
    )
    assert reply.result == 300 and "sum" in reply.comment
    assert await snapshot(db) == before
    same = await osmp(
        [
            ("command", "pay"),
            ("txn_id", "1"),
            ("account", account.number),
            ("sum", "10.00"),
            ("sum", "10.00"),
            ("txn_date", "20261118150000"),
        ]
    )
    assert same.result == 0


async def test_comment_and_echo_are_escaped(db: Database, osmp: Osmp, clock) -> None:
    await make_agent(db)
    reply = await osmp({"command": "<x>&", "txn_id": "<1>", "account": "a", "sum": "1"})
    assert reply.result == 300 and reply.osmp_txn_id == "<1>"
    assert "&lt;1&gt;" in reply.body


# --- who may call: 401 / 403 with result 8 --------------------------------------------------------


async def test_wrong_or_missing_credentials_are_401(db: Database, osmp: Osmp, clock) -> None:
    account = await debtor(db)
    await make_agent(db)
    before = await snapshot(db)
    params = {
        "command": "pay",
        "txn_id": "1",
        "account": account.number,
        "sum": "10.00",
        "txn_date": "20261118150000",
    }
    for auth in [("SBER", "wrong-password"), None, ("OTHER", PASSWORD), ("SBER", "")]:
        reply = await osmp(params, auth=auth)
        assert (reply.status, reply.result, reply.prv_txn) == (401, 8, ""), auth
        assert reply.headers["www-authenticate"].startswith('Basic realm="osmp"')
    garbage = await osmp(params, auth=False, headers={"Authorization": "Basic !!!notbase64"})
    assert (garbage.status, garbage.result) == (401, 8)
    assert await snapshot(db) == before


async def test_disabled_agent_is_403_only_after_the_right_password(
    db: Database, osmp: Osmp, clock
) -> None:
    account = await debtor(db)
    await make_agent(db)
    async with db.session(write=True) as s:
        await agents.disable_agent(s, "SBER", actor=ACTOR)
    before = await snapshot(db)
    reply = await osmp.pay("1", account.number, "10.00")
    assert (reply.status, reply.result) == (403, 8) and "disabled" in reply.comment
    wrong = await osmp(
        {"command": "check", "txn_id": "1", "account": account.number, "sum": "1"},
        auth=("SBER", "not-the-password"),
    )
    assert wrong.status == 401
    assert await snapshot(db) == before
    async with db.session(write=True) as s:
        await agents.enable_agent(s, "SBER", actor=ACTOR)
    assert (await osmp.pay("1", account.number, "10.00")).result == 0


async def test_foreign_address_and_unknown_agent_are_403(db: Database, app: FastAPI, clock) -> None:
    account = await debtor(db)
    await make_agent(db, "BANK10", allowed=["10.0.0.0/8"])
    before = await snapshot(db)
    async with build_client(app, "127.0.0.1") as client:
        osmp = Osmp(client, "BANK10")
        for call in (osmp.check, osmp.pay):
            reply = await call("1", account.number, "10.00")
            assert (reply.status, reply.result, reply.prv_txn) == (403, 8, "")
        # An unknown code is answered exactly like a foreign address: codes cannot be probed.
        unknown = await Osmp(client, "NOSUCH").pay("1", account.number, "10.00")
        assert (unknown.status, unknown.result) == (403, 8)
        assert unknown.comment == reply.comment
        # A caller outside the networks cannot even tell a wrong password from a right one.
        wrong = await osmp(
            {"command": "check", "txn_id": "1", "account": account.number, "sum": "1"},
            auth=("BANK10", "nope-nope"),
        )
        assert wrong.status == 403
    assert await snapshot(db) == before
    async with build_client(app, "10.20.30.40") as client:
        assert (await Osmp(client, "BANK10").pay("1", account.number, "10.00")).result == 0


async def test_forwarded_for_is_honoured_only_when_trusted(
    db: Database, app: FastAPI, clock
) -> None:
    account = await debtor(db)
    await make_agent(db, "BANK10", allowed=["10.0.0.0/8"])
    async with build_client(app, "127.0.0.1") as client:
        osmp = Osmp(client, "BANK10")
        params = {"command": "check", "txn_id": "1", "account": account.number, "sum": "10"}
        forwarded = {"X-Forwarded-For": "10.1.2.3"}
        assert (await osmp(params, headers=forwarded)).status == 403
        app.state.settings.osmp.trust_forwarded_for = True
        assert (await osmp(params, headers=forwarded)).result == 0
        # Only the hop our proxy appended counts: the client wrote the earlier ones.
        spoofed = {"X-Forwarded-For": "10.1.2.3, 192.0.2.7"}
        assert (await osmp(params, headers=spoofed)).status == 403
        assert (await osmp(params)).status == 403  # no header: the socket peer, 127.0.0.1


async def test_malformed_request_from_a_stranger_reveals_nothing(
    db: Database, osmp: Osmp, clock
) -> None:
    await make_agent(db)
    reply = await osmp({"command": "bogus"}, auth=("SBER", "wrong-password"))
    assert (reply.status, reply.result) == (401, 8)


async def test_password_is_verified_once_per_process(
    db: Database, osmp: Osmp, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await debtor(db, 0)
    await make_agent(db)
    calls: list[str] = []
    real = agents._verify_hash

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(agents, "_verify_hash", counting)
    for i in range(3):
        assert (await osmp.pay(str(i), account.number, "1.00")).result == 0
    assert calls == [PASSWORD]
    # Failures are never remembered: each wrong try pays for argon2 again.
    for _ in range(2):
        assert (
            await osmp.check(
                "9",
                account.number,
                "1",
            )
        ).result == 0
        bad = await osmp(
            {"command": "check", "txn_id": "9", "account": account.number, "sum": "1"},
            auth=("SBER", "guess-1234"),
        )
        assert bad.status == 401
    assert calls == [PASSWORD, "guess-1234", "guess-1234"]
    # A new password changes the stored hash: the remembered old one admits nobody.
    async with db.session(write=True) as s:
        await agents.set_password(s, "SBER", "brand-new-secret", actor=ACTOR)
    old = await osmp.check("9", account.number, "1")
    assert old.status == 401
    assert (
        await Osmp(osmp.client, "SBER", "brand-new-secret").check("9", account.number, "1")
    ).result == 0


async def test_a_burst_of_first_calls_verifies_the_password_once(
    db: Database, osmp: Osmp, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await debtor(db, 0)
    await make_agent(db)
    calls: list[str] = []
    real = agents._verify_hash

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password)
        time.sleep(0.3)  # a slow verification: every request of the burst arrives meanwhile
        return real(password_hash, password)

    monkeypatch.setattr(agents, "_verify_hash", counting)
    replies = await asyncio.gather(*(osmp.check(str(i), account.number, "1") for i in range(6)))
    assert [r.result for r in replies] == [0] * 6
    assert calls == [PASSWORD]
    wrong = Osmp(osmp.client, "SBER", "wrong-password")
    replies = await asyncio.gather(*(wrong.check(str(i), account.number, "1") for i in range(4)))
    assert [r.status for r in replies] == [401] * 4
    assert calls == [PASSWORD, "wrong-password"]


# --- our own failures: 1, 8, 90, 243 --------------------------------------------------------------


async def test_database_down_is_243_on_check_and_1_on_pay(clock) -> None:
    from abonent.app import create_app

    dead = Database("postgresql://postgres@127.0.0.1:9/abonent")
    app = create_app(dead)
    try:
        async with build_client(app) as client:
            osmp = Osmp(client)
            check = await osmp.check("1", "123456789012", "10.00")
            assert (check.status, check.result, check.prv_txn) == (200, 243, "")
            pay = await osmp.pay("1", "123456789012", "10.00")
            assert (pay.status, pay.result, pay.prv_txn) == (200, 1, "")
            malformed = await osmp({"command": "what"})
            assert (malformed.status, malformed.result) == (200, 1)
    finally:
        await dead.dispose()


async def _general_path_only(*_args: object) -> None:
    return None


async def test_lost_commit_is_90_and_the_retry_books_once(
    db: Database, osmp: Osmp, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The general path's unit of work; the one-statement path's lost answers are in
    # test_osmp_one_statement.py.
    monkeypatch.setattr(osmp_protocol, "pay_once", _general_path_only)
    account = await debtor(db, 10_000)
    await make_agent(db)
    assert (await osmp.check("1", account.number, "10.00")).result == 0  # password verified
    before = await snapshot(db)
    real_commit = AsyncSession.commit
    failures = []

    async def failing_commit(self: AsyncSession) -> None:
        if not failures:
            failures.append(1)
            raise OperationalError("COMMIT", None, ConnectionResetError("connection lost"))
        await real_commit(self)

    monkeypatch.setattr(AsyncSession, "commit", failing_commit)
    reply = await osmp.pay("1", account.number, "10.00")
    assert (reply.status, reply.result, reply.prv_txn) == (200, 90, "")
    assert await snapshot(db) == before
    retry = await osmp.pay("1", account.number, "10.00")
    assert retry.result == 0 and retry.comment == "OK"
    assert len(await payments_of(db)) == 1
    assert await balance_of(db, account) == (-9_000, 9_000)


async def test_unexpected_failure_is_8_and_rolls_everything_back(
    db: Database, osmp: Osmp, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from abonent.ledger import pg_payment
    from abonent.payments import service as payments_service

    account = await debtor(db, 10_000)
    await make_agent(db)
    before = await snapshot(db)

    async def broken(*_args: object, **_kwargs: object) -> tuple[int, ...]:
        raise RuntimeError("bug after the postings were flushed")

    write = pg_payment.write

    async def write_then_break(*args: Any, **kwargs: Any) -> pg_payment.Written | None:
        await write(*args, **kwargs)
        raise RuntimeError("bug after the booking statement ran")

    # The ORM path (SQLite) fails after its flushes, the PostgreSQL path after its statement
    # (the one-statement path: test_osmp_one_statement.py).
    monkeypatch.setattr(osmp_protocol, "pay_once", _general_path_only)
    monkeypatch.setattr(payments_service, "restore_paid_services", broken)
    monkeypatch.setattr(pg_payment, "write", write_then_break)
    reply = await osmp.pay("1", account.number, "10.00")
    assert (reply.status, reply.result, reply.prv_txn) == (200, 8, "")
    assert "nothing was booked" in reply.comment
    assert await snapshot(db) == before
