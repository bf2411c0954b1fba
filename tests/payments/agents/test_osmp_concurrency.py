"""OSMP under real concurrency on PostgreSQL: many connections, row locks, exactly-once."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import defaultdict

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.ledger.reconcile import reconcile
from abonent.models import Account, AccountBalance, Payment
from tests.conftest import _asyncpg_dsn
from tests.factories import charge, make_account
from tests.payments.agents.conftest import Osmp, Reply, build_client, make_agent, snapshot

pytestmark = pytest.mark.postgres_only
D = dt.date


async def _lock_waiters(conn: asyncpg.Connection) -> int:
    # Inside a transaction the activity view is a snapshot taken once: refresh it each time.
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )


async def test_one_txn_id_from_many_connections_books_exactly_once(
    db: Database, db_url: str, app: FastAPI, clock
) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 100_000, due=D(2026, 10, 1), service=sim)
    await make_agent(db)
    connections = 12
    async with build_client(app) as client:
        osmp = Osmp(client)
        assert (await osmp.check("1", account.number, "1")).result == 0  # verify the password
        # Hold the account's lock so that every request is inside its transaction, blocked on
        # the same row, before any of them may proceed: the race is real, not a sequence.
        holder = await asyncpg.connect(_asyncpg_dsn(db_url))
        try:
            tx = holder.transaction()
            await tx.start()
            await holder.execute(
                "SELECT * FROM account_balances WHERE account_id = $1 FOR UPDATE", account.id
            )
            calls = [
                asyncio.create_task(osmp.pay("700001", account.number, "250.00"))
                for _ in range(connections)
            ]
            for _ in range(500):
                if await _lock_waiters(holder) >= connections:
                    break
                await asyncio.sleep(0.01)
            assert await _lock_waiters(holder) == connections
            await tx.rollback()
            replies: list[Reply] = await asyncio.gather(*calls)
        finally:
            await holder.close()
    assert {(r.status, r.result, r.sum) for r in replies} == {(200, 0, "250.00")}
    assert len({r.prv_txn for r in replies}) == 1
    assert sorted(r.comment for r in replies) == ["OK"] + ["OK (already booked)"] * (
        connections - 1
    )
    async with db.session() as s:
        (payment,) = (await s.scalars(select(Payment))).all()
        balance = await s.get(AccountBalance, account.id)
        report = await reconcile(s)
    assert str(payment.id) == replies[0].prv_txn and payment.amount_minor == 25_000
    assert balance is not None
    assert (balance.balance_minor, balance.debt_minor, balance.entries_count) == (
        -75_000,
        75_000,
        2,
    )
    assert report.clean


async def test_same_txn_id_without_a_barrier_also_books_once(
    db: Database, app: FastAPI, clock
) -> None:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    await make_agent(db)
    async with build_client(app) as client:
        osmp = Osmp(client)
        for round_ in range(5):
            txn = str(800_000 + round_)
            replies = await asyncio.gather(
                *(osmp.pay(txn, account.number, "10.00") for _ in range(10))
            )
            assert {r.result for r in replies} == {0}
            assert len({r.prv_txn for r in replies}) == 1
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Payment)) == 5
        balance = await s.get(AccountBalance, account.id)
    assert balance is not None and balance.balance_minor == 5_000


async def test_a_thousand_payments_from_eight_connections_balance_exactly(
    db: Database, app: FastAPI, clock
) -> None:
    charges = [30_000, 0, 125_000, 99, 5_000_00]
    accounts: list[Account] = []
    async with db.session(write=True) as s:
        for amount in charges:
            account, (sim,) = await make_account(s)
            if amount:
                # Two charges each, so payments allocate across items, oldest first.
                await charge(s, account, amount - amount // 3, due=D(2026, 9, 1), service=sim)
                if amount // 3:
                    await charge(s, account, amount // 3, due=D(2026, 10, 1), service=sim)
            accounts.append(account)
    await make_agent(db)
    rng = random.Random(20261118)
    plan = [
        (str(10_000_000 + i), rng.randrange(len(accounts)), rng.randint(100, 50_000))
        for i in range(1000)
    ]
    expected: dict[int, int] = defaultdict(int)
    for _txn, index, amount in plan:
        expected[index] += amount
    queue: asyncio.Queue[tuple[str, int, int]] = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)
    replies: dict[str, Reply] = {}

    async def worker(osmp: Osmp) -> None:
        while not queue.empty():
            txn, index, amount = queue.get_nowait()
            replies[txn] = await osmp.pay(
                txn, accounts[index].number, f"{amount // 100}.{amount % 100:02d}"
            )

    async with build_client(app) as client:
        osmp = Osmp(client)
        assert (await osmp.check("1", accounts[0].number, "1")).result == 0
        await asyncio.gather(*(worker(osmp) for _ in range(8)))
    assert len(replies) == 1000
    assert {r.result for r in replies.values()} == {0}
    assert len({r.prv_txn for r in replies.values()}) == 1000
    async with db.session() as s:
        rows = (
            await s.execute(
                select(Payment.source_txn_id, Payment.id, Payment.amount_minor, Payment.account_id)
            )
        ).all()
        by_txn = {txn: (pid, amount, account_id) for txn, pid, amount, account_id in rows}
        for txn, index, amount in plan:
            assert by_txn[txn] == (int(replies[txn].prv_txn), amount, accounts[index].id)
        for index, account in enumerate(accounts):
            balance = await s.get(AccountBalance, account.id)
            assert balance is not None
            paid, owed = expected[index], charges[index]
            assert balance.balance_minor == paid - owed
            assert balance.debt_minor == max(owed - paid, 0)
        report = await reconcile(s)
    assert report.clean, report
    assert report.accounts == len(accounts)
    state = await snapshot(db)
    assert state["counts"]["payments"] == 1000


async def test_lock_timeout_is_1_and_books_nothing(db: Database, db_url: str, clock) -> None:
    from abonent.app import create_app
    from abonent.db.engine import create_engine

    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    await make_agent(db)
    # A server whose sessions give up waiting for a row lock after 100 ms.
    impatient = Database(
        db_url,
        engine=create_engine(db_url, connect_args={"server_settings": {"lock_timeout": "100"}}),
    )
    try:
        async with build_client(create_app(impatient)) as client:
            osmp = Osmp(client)
            assert (await osmp.check("1", account.number, "1")).result == 0
            before = await snapshot(db)
            holder = await asyncpg.connect(_asyncpg_dsn(db_url))
            try:
                async with holder.transaction():
                    await holder.execute(
                        "SELECT * FROM account_balances WHERE account_id = $1 FOR UPDATE",
                        account.id,
                    )
                    reply = await osmp.pay("1", account.number, "10.00")
                    assert (reply.status, reply.result, reply.prv_txn) == (200, 1, "")
            finally:
                await holder.close()
            assert await snapshot(db) == before
            retry = await osmp.pay("1", account.number, "10.00")
            assert (retry.result, retry.comment) == (0, "OK")
    finally:
        await impatient.dispose()
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Payment)) == 1
