"""OSMP pay in one statement on PostgreSQL: when it is taken, the agent's copy, lost answers.

The conformance suite (test_osmp.py) checks every answer on both databases; this module checks
what is particular to the one-statement path: that a pay really is one statement with no
session, that the agent's row is read once and a change to it is obeyed on the next call, and
what a failure at each point leaves behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, update

from abonent.db.uow import Database
from abonent.ledger import pg_agent_pay
from abonent.models import Payment, PaymentAgent
from abonent.payments.agents import repository as agents_repo
from abonent.payments.agents import service as agents
from tests.factories import ACTOR, charge, make_account
from tests.payments.agents.conftest import Osmp, make_agent, snapshot

pytestmark = pytest.mark.postgres_only
D = dt.date


class Spy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.outcomes: list[str] = []
        self.copies_read = 0
        self.sessions = 0
        real_pay, real_copy, real_session = pg_agent_pay.pay, agents_repo.copy_row, Database.session

        async def pay(*args: Any) -> pg_agent_pay.Once:
            once = await real_pay(*args)
            self.outcomes.append(once.outcome)
            return once

        async def copy_row(*args: Any) -> Any:
            self.copies_read += 1
            return await real_copy(*args)

        def session(db: Database, **kwargs: Any) -> Any:
            self.sessions += 1
            return real_session(db, **kwargs)

        monkeypatch.setattr(pg_agent_pay, "pay", pay)
        monkeypatch.setattr(agents_repo, "copy_row", copy_row)
        monkeypatch.setattr(Database, "session", session)


async def _debtor(db: Database, owed: int = 50_000) -> Any:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, owed, due=D(2026, 10, 15), service=sim)
    return account


def _booked_metric() -> float:
    from abonent.kit import metrics

    value = metrics.REGISTRY.get_sample_value("abonent_payments_booked_total", {"source": "osmp"})
    return value or 0


async def _count_payments(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Payment)) or 0)


async def test_a_pay_is_one_statement_and_the_agent_is_read_once(
    db: Database, osmp: Osmp, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await _debtor(db)
    await make_agent(db)
    assert (await osmp.check("0", account.number, "1.00")).result == 0  # password verified
    spy = Spy(monkeypatch)
    counted = _booked_metric()
    first = await osmp.pay("1", account.number, "100.00")
    second = await osmp.pay("2", account.number, "100.00")
    replay = await osmp.pay("1", account.number, "100.00")
    assert [(r.result, r.comment) for r in (first, second, replay)] == [
        (0, "OK"),
        (0, "OK"),
        (0, "OK (already booked)"),
    ]
    assert replay.prv_txn == first.prv_txn
    assert spy.outcomes == ["booked", "booked", "replay"]
    # No session (no BEGIN, no COMMIT), and the agent's row read for the first pay only.
    assert (spy.sessions, spy.copies_read) == (0, 1)
    assert await _count_payments(db) == 2
    # Counted as committed bookings: the two, not the replay.
    assert _booked_metric() == counted + 2


@pytest.mark.parametrize("change", ["disabled", "password", "addresses", "limits"])
async def test_a_change_to_the_agent_is_obeyed_on_the_next_call(
    db: Database, osmp: Osmp, clock: Any, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """The copy of the agent is never the authority: changed behind this process's back (by
    another process, as here by a plain UPDATE), the next call answers as the row says."""
    account = await _debtor(db)
    agent = await make_agent(db)
    assert (await osmp.pay("1", account.number, "10.00")).result == 0
    spy = Spy(monkeypatch)
    values: dict[str, Any] = {
        "disabled": {"active": False},
        "password": {"password_hash": agents._hasher.hash("another-password-1")},
        "addresses": {"allowed_ips": ["10.0.0.0/8"]},
        "limits": {"max_sum_minor": 500},
    }[change]
    async with db.session(write=True) as s:
        await s.execute(update(PaymentAgent).where(PaymentAgent.id == agent.id).values(values))
    before = await snapshot(db)
    reply = await osmp.pay("2", account.number, "10.00")
    expected = {
        "disabled": (403, 8),
        "password": (401, 8),
        "addresses": (403, 8),
        "limits": (200, 242),
    }[change]
    assert (reply.status, reply.result) == expected
    assert spy.outcomes == ["agent"]
    assert await snapshot(db) == before
    # The copy was dropped: the next call reads the row again.
    await osmp.pay("3", account.number, "10.00")
    assert spy.copies_read == 1


async def test_an_agent_changed_back_and_forth_is_read_again(
    db: Database, osmp: Osmp, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await _debtor(db)
    agent = await make_agent(db)
    assert (await osmp.pay("1", account.number, "10.00")).result == 0
    async with db.session(write=True) as s:
        await agents.disable_agent(s, agent.code, actor=ACTOR)
    assert (await osmp.pay("2", account.number, "10.00")).status == 403
    async with db.session(write=True) as s:
        await agents.enable_agent(s, agent.code, actor=ACTOR)
    spy = Spy(monkeypatch)
    reply = await osmp.pay("3", account.number, "10.00")
    assert (reply.result, reply.comment) == (0, "OK")
    assert spy.outcomes == ["booked"] and spy.copies_read == 1


async def test_a_lost_answer_is_90_and_the_retry_finds_the_payment(
    db: Database, osmp: Osmp, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement committed and the connection broke before its answer arrived."""
    account = await _debtor(db)
    await make_agent(db)
    assert (await osmp.check("0", account.number, "1.00")).result == 0
    real = asyncpg.connection.Connection.fetchrow
    broken: list[int] = []

    async def fetchrow(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        row = await real(self, query, *args, **kwargs)
        if "abonent_agent_pay" in query and not broken:
            broken.append(1)
            raise ConnectionResetError("connection lost")
        return row

    monkeypatch.setattr(asyncpg.connection.Connection, "fetchrow", fetchrow)
    reply = await osmp.pay("1", account.number, "10.00")
    assert (reply.status, reply.result, reply.prv_txn, reply.comment) == (
        200,
        90,
        "",
        "payment not finished; retry",
    )
    assert await _count_payments(db) == 1  # it did commit
    retry = await osmp.pay("1", account.number, "10.00")
    assert (retry.result, retry.comment) == (0, "OK (already booked)")
    async with db.session() as s:
        (payment,) = await s.scalars(select(Payment))
    assert retry.prv_txn == str(payment.id)


async def test_a_connection_lost_before_the_statement_is_90_and_the_retry_books_once(
    db: Database, osmp: Osmp, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await _debtor(db)
    await make_agent(db)
    assert (await osmp.check("0", account.number, "1.00")).result == 0
    before = await snapshot(db)
    real = asyncpg.connection.Connection.fetchrow
    broken: list[int] = []

    async def fetchrow(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if "abonent_agent_pay" in query and not broken:
            broken.append(1)
            raise ConnectionResetError("connection lost")
        return await real(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.connection.Connection, "fetchrow", fetchrow)
    reply = await osmp.pay("1", account.number, "10.00")
    assert (reply.status, reply.result, reply.prv_txn) == (200, 90, "")
    assert await snapshot(db) == before
    retry = await osmp.pay("1", account.number, "10.00")
    assert (retry.result, retry.comment) == (0, "OK")
    assert await _count_payments(db) == 1


async def test_a_statement_that_fails_after_its_writes_leaves_nothing(
    db: Database, osmp: Osmp, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function wrote the whole booking, then the statement failed: all of it is rolled
    back with the statement, and the general path books the payment once."""
    account = await _debtor(db)
    await make_agent(db)
    assert (await osmp.check("0", account.number, "1.00")).result == 0
    failing = pg_agent_pay._CALL.replace(
        "o_restored_ids FROM", "o_restored_ids, o_payment_id / 0 AS boom FROM"
    )
    assert failing != pg_agent_pay._CALL
    monkeypatch.setattr(pg_agent_pay, "_CALL", failing)
    spy = Spy(monkeypatch)
    reply = await osmp.pay("1", account.number, "10.00")
    assert (reply.result, reply.comment) == (0, "OK")
    assert spy.outcomes == ["fallback"]
    assert spy.sessions >= 1  # the general path's unit of work
    async with db.session() as s:
        (payment,) = await s.scalars(select(Payment))
        entries = await s.scalar(
            select(func.count()).select_from(Payment).where(Payment.entry_id.is_not(None))
        )
    assert reply.prv_txn == str(payment.id) and entries == 1
    state = await snapshot(db)
    assert state["counts"]["payments"] == 1


async def test_without_the_function_the_general_path_books(
    db: Database, osmp: Osmp, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database not yet migrated to 0018 has no function: every pay takes the general path."""
    account = await _debtor(db)
    await make_agent(db)
    assert (await osmp.check("0", account.number, "1.00")).result == 0
    monkeypatch.setattr(
        pg_agent_pay, "_CALL", pg_agent_pay._CALL.replace("abonent_agent_pay", "no_such_function")
    )
    spy = Spy(monkeypatch)
    reply = await osmp.pay("1", account.number, "10.00")
    assert (reply.result, reply.comment) == (0, "OK")
    assert spy.outcomes == ["fallback"]
    assert await _count_payments(db) == 1


async def test_an_account_in_another_currency_is_booked_in_its_own(
    db: Database, osmp: Osmp, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ccy: the statement assumes roubles; a dollar account takes the general path."""
    from abonent.models import Account

    account = await _debtor(db)
    async with db.session(write=True) as s:
        await s.execute(update(Account).where(Account.id == account.id).values(currency="USD"))
    await make_agent(db)
    assert (await osmp.check("0", account.number, "1.00", ccy="USD")).result == 0
    spy = Spy(monkeypatch)
    reply = await osmp.pay("1", account.number, "10.00")
    assert reply.result == 0
    assert spy.outcomes == ["fallback"]
    async with db.session() as s:
        (payment,) = await s.scalars(select(Payment))
    assert payment.currency == "USD"


def test_payload_parts_split_exactly_where_the_id_goes() -> None:
    import json

    payload = {"to": "+7", "text": 'Платёж "1"', "kind": "x", "payment_id": 0}
    before, after = pg_agent_pay.payload_parts(payload, "payment_id")
    assert before + "123" + after == json.dumps({**payload, "payment_id": 123})


def test_payload_parts_refuse_a_payload_that_already_holds_the_marker() -> None:
    # A value spelled like the marker would make the split ambiguous: refused, not guessed.
    payload = {"text": "-7301999173", "payment_id": 0}
    with pytest.raises(ValueError, match="once"):
        pg_agent_pay.payload_parts(payload, "payment_id")
