"""The PostgreSQL booking statements write exactly what the ORM path writes.

One scenario (allocation oldest first with disputed and same-day items, replays, mismatches,
prepaid money, services suspended for debt restored or not, SMS recipients of every kind,
closed accounts with debt, one with a suspended service, open credits older than the payment,
one dated after it, a settled account and accounts in credit paid again, a service label that
needs every JSON escape) is booked on a fresh database through the ORM path alone, and again
with the two-statement path (``ledger.pg_payment``), and again with the one-statement path
(``ledger.pg_agent_pay``, the general path taking what it hands back). Every row the bookings
touched is compared, ids replaced by their order of creation; the clock is frozen, so
timestamps compare exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy import text as sql_text

from abonent.accounts import service as accounts
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.errors import AbonentError
from abonent.kit.numbers import generate_account_number
from abonent.ledger import pg_agent_pay, pg_payment
from abonent.ledger.service import CREDIT, Leg, _open_item, post_entry
from abonent.models import Account, OpenItem, Payment, Service
from abonent.models.base import Base
from abonent.payments import once as payments_once
from abonent.payments import service as payments
from abonent.payments.service import PaymentRequest, book_payment
from tests.factories import ACTOR, charge

pytestmark = pytest.mark.postgres_only
D = dt.date
BANK = Actor("agent:BANK", "agent")

# Every table a booking writes, and where each foreign key of theirs points.
TABLES = (
    "journal_entries",
    "postings",
    "open_items",
    "allocations",
    "account_balances",
    "payments",
    "audit_events",
    "outbox",
    "services",
    "service_status_changes",
    "accounts",
)
PAYMENT_COLUMNS = Base.metadata.tables["payments"].columns
REFERENCES = {
    "entry_id": "journal_entries",
    "reverses_entry_id": "journal_entries",
    "reversal_entry_id": "journal_entries",
    "debit_item_id": "open_items",
    "credit_item_id": "open_items",
    "payment_id": "payments",
}


@dataclass
class Spy:
    written: int = 0
    declined: int = 0
    locked: int = 0


async def _customer_account(
    s: Any,
    n: int,
    services: tuple[tuple[str, str], ...],
    contact_phone: str | None = None,
) -> tuple[Account, list[Service]]:
    customer = await accounts.create_customer(
        s,
        kind="person",
        full_name=f"Абонент {n}",
        passport=f"4510{n:06d}",
        contact_phone=contact_phone,
        actor=ACTOR,
    )
    account = await accounts.open_account(
        s,
        customer_id=customer.id,
        number=generate_account_number(random.Random(n)),
        actor=ACTOR,
    )
    made = []
    for kind, value in services:
        spec = {
            "mobile": accounts.ServiceSpec(kind="mobile", msisdn=value),
            "internet": accounts.ServiceSpec(kind="internet", login=value),
            "tv": accounts.ServiceSpec(kind="tv", smart_card=value, chip_id="C1"),
        }[kind]
        made.append(await accounts.add_service(s, account, spec, actor=ACTOR))
    return account, made


Outcome = tuple[Any, ...]
Book = Callable[[Database, PaymentRequest], Awaitable[payments.Booked]]


async def _book_in_a_unit(db: Database, request: PaymentRequest) -> payments.Booked:
    return await db.run(lambda s: book_payment(s, request))


async def _scenario(db: Database, book: Book = _book_in_a_unit) -> list[Outcome]:
    async with db.session(write=True) as s:
        debtor, (sim, line) = await _customer_account(
            s, 1, (("mobile", "+79160000001"), ("internet", "eq-line-1"))
        )
        await charge(s, debtor, 30_000, due=D(2026, 9, 1), service=line)
        await charge(s, debtor, 20_000, due=D(2026, 10, 1), service=sim)
        await charge(s, debtor, 15_000, due=D(2026, 12, 1), service=sim)
        disputed = await charge(s, debtor, 10_000, due=D(2026, 8, 1), service=line)
        await charge(s, debtor, 5_000, due=D(2026, 10, 1), service=line)
        assert disputed.item is not None
        await s.execute(
            update(OpenItem).where(OpenItem.id == disputed.item.id).values(disputed=True)
        )

        cut_off, (cut_sim, cut_line) = await _customer_account(
            s, 2, (("mobile", "+79160000002"), ("internet", "eq-line-2"))
        )
        await charge(s, cut_off, 40_000, due=D(2026, 9, 1), service=cut_line)
        await charge(s, cut_off, 10_000, due=D(2026, 10, 1), service=cut_sim)
        for service in (cut_sim, cut_line):
            await accounts.change_service_status(
                s, service, "suspended", actor=ACTOR, reason="overdue", suspended_reason="debt"
            )

        no_sim, (no_sim_line,) = await _customer_account(
            s, 3, (("internet", "eq-line-3"),), contact_phone="+79160000099"
        )
        await charge(s, no_sim, 10_000, due=D(2026, 10, 1), service=no_sim_line)

        silent, (box,) = await _customer_account(s, 4, (("tv", "750000000004"),))
        await charge(s, silent, 12_345, due=D(2026, 10, 1), service=box)

        closed, (closed_sim,) = await _customer_account(
            s, 5, (("mobile", "+79160000005"),), contact_phone="+79160000055"
        )
        await charge(s, closed, 25_000, due=D(2026, 9, 1), service=closed_sim)
        await accounts.change_account_status(s, closed, "closed", actor=ACTOR, reason="moved")

        two_sims, (old_sim, _sim, _later_sim) = await _customer_account(
            s,
            6,
            (("mobile", "+79160000006"), ("mobile", "+79160000066"), ("mobile", "+79160000666")),
        )
        await charge(s, two_sims, 7_000, due=D(2026, 10, 1), service=old_sim)
        await accounts.change_service_status(s, old_sim, "closed", actor=ACTOR, reason="lost")

        # Money that allocation never matched with the debt beside it: the ledger never leaves
        # an account like this, but if one is, both paths must spend it first.
        stray, (stray_sim,) = await _customer_account(s, 7, (("mobile", "+79160000007"),))
        await charge(s, stray, 10_000, due=D(2026, 10, 1), service=stray_sim)
        entry, _ = await post_entry(
            s,
            account_id=stray.id,
            kind="adjustment",
            legs=[Leg("clearing:test", 3_000), Leg("subscriber", -3_000)],
            business_date=D(2026, 11, 18),
            memo="stray credit",
        )
        await s.flush()
        s.add(_open_item(entry, CREDIT, "adjustment", 3_000, D(2026, 11, 1)))

        # Stray credits: one dated today (matched before the new payment's credit of the same
        # date, whose id is higher), one dated after today (matched after it); beside debt on two
        # services, one of which is suspended for it.
        strays, (strays_sim, strays_line) = await _customer_account(
            s, 8, (("mobile", "+79160000008"), ("internet", "eq-line-8"))
        )
        await charge(s, strays, 6_000, due=D(2026, 9, 1), service=strays_sim)
        await charge(s, strays, 4_000, due=D(2026, 10, 1), service=strays_line)
        await charge(s, strays, 8_000, due=D(2026, 10, 15), service=strays_sim)
        for amount, due in (
            (1_000, D(2026, 11, 1)),
            (500, D(2026, 11, 18)),
            (2_000, D(2026, 12, 20)),
        ):
            entry, _ = await post_entry(
                s,
                account_id=strays.id,
                kind="adjustment",
                legs=[Leg("clearing:test", amount), Leg("subscriber", -amount)],
                business_date=D(2026, 11, 18),
                memo="stray credit",
            )
            await s.flush()
            s.add(_open_item(entry, CREDIT, "adjustment", amount, due))
        await accounts.change_service_status(
            s, strays_sim, "suspended", actor=ACTOR, reason="overdue", suspended_reason="debt"
        )
        # Every escape json.dumps makes, and a character outside the BMP (a surrogate pair).
        strays_sim.label = 'SIM "рабочая" \\ \t\n\r\b\f \x01 \x7f 😀 ~'

        # A contested overdue charge does not keep a service suspended; a charge not yet due
        # does not either.
        contests, (contests_sim, contests_line) = await _customer_account(
            s, 9, (("mobile", "+79160000009"), ("internet", "eq-line-9"))
        )
        contested = await charge(s, contests, 9_000, due=D(2026, 8, 1), service=contests_sim)
        await charge(s, contests, 4_000, due=D(2026, 9, 1), service=contests_sim)
        await charge(s, contests, 3_000, due=D(2026, 9, 1), service=contests_line)
        await charge(s, contests, 2_000, due=D(2026, 12, 1), service=contests_line)
        assert contested.item is not None
        await s.execute(
            update(OpenItem).where(OpenItem.id == contested.item.id).values(disputed=True)
        )
        for service in (contests_sim, contests_line):
            await accounts.change_service_status(
                s, service, "suspended", actor=ACTOR, reason="overdue", suspended_reason="debt"
            )

        # A closed account whose SIM was suspended for debt: paid, never restored.
        closed_cut, (closed_cut_sim,) = await _customer_account(
            s, 10, (("mobile", "+79160000010"),), contact_phone="+79160000100"
        )
        await charge(s, closed_cut, 9_000, due=D(2026, 9, 1), service=closed_cut_sim)
        await accounts.change_service_status(
            s, closed_cut_sim, "suspended", actor=ACTOR, reason="overdue", suspended_reason="debt"
        )
        await accounts.change_account_status(s, closed_cut, "closed", actor=ACTOR, reason="moved")

    def pay(
        account: Account,
        amount: int,
        txn: str,
        *,
        source: str = "osmp:BANK",
        method: str = "agent",
        actor: Actor = BANK,
        **extra: Any,
    ) -> PaymentRequest:
        return PaymentRequest(
            account=account,
            amount_minor=amount,
            method=method,
            source=source,
            source_txn_id=txn,
            actor=actor,
            agent_id=None,
            **extra,
        )

    async def suspend_line_again(s: Any) -> None:
        service = await s.get(Service, cut_line.id)
        await accounts.change_service_status(
            s, service, "suspended", actor=ACTOR, reason="again", suspended_reason="debt"
        )

    steps: list[PaymentRequest | Callable[[Any], Awaitable[None]]] = [
        pay(debtor, 25_000, "1"),
        pay(debtor, 40_000, "2"),
        pay(debtor, 40_000, "2"),  # a replay
        pay(debtor, 40_001, "2"),  # the same txn with another amount
        pay(debtor, 20_000, "3"),
        pay(debtor, 100_000, "4", comment="пополнение " * 40),
        pay(debtor, 700, "5", txn_date=dt.datetime(2026, 11, 18, 9, 30, tzinfo=dt.UTC)),
        pay(
            debtor,
            1_500,
            "desk-1",
            source="office",
            method="office",
            actor=Actor("apikey:2:desk", None),
        ),
        pay(cut_off, 5_000, "6"),
        pay(cut_off, 35_000, "7"),
        pay(cut_off, 20_000, "8"),
        suspend_line_again,
        pay(cut_off, 500, "9"),
        pay(no_sim, 3_000, "10"),
        pay(silent, 12_345, "11"),
        pay(closed, 25_001, "12"),
        pay(closed, 25_000, "13"),
        pay(closed, 100, "14"),
        pay(two_sims, 7_000, "15"),
        pay(two_sims, 2_500, "24"),  # settled: the money waits as a credit
        pay(stray, 9_000, "16"),
        pay(stray, 9_000, "16"),
        pay(strays, 4_000, "17"),  # the older credits and this one clear the SIM's overdue
        pay(strays, 30_000, "18"),
        pay(strays, 30_000, "18"),  # a replay
        pay(strays, 30_001, "18"),  # a mismatch
        pay(contests, 4_000, "19"),  # the SIM's undisputed overdue: the SIM comes back
        pay(contests, 2_999, "20"),  # a kopeck short of the line's overdue: it waits
        pay(contests, 1, "23"),  # the line comes back
        pay(closed_cut, 9_000, "21"),
        pay(closed_cut, 1, "22"),  # owes nothing now: refused
    ]
    outcomes: list[Outcome] = []
    for step in steps:
        if not isinstance(step, PaymentRequest):
            await db.run(step)
            continue
        try:
            booked = await book(db, step)
        except AbonentError as exc:
            outcomes.append(("refused", type(exc).__name__, exc.code, exc.extra))
            continue
        p = booked.payment
        # What the caller gets back, as the object it holds (not re-read).
        fields = tuple(getattr(p, c.key) for c in PAYMENT_COLUMNS if c.key != "id")
        outcomes.append(("booked", booked.created, p.id, booked.restored_service_ids, fields))
    return outcomes


async def _snapshot(db: Database) -> dict[str, Any]:
    tables: dict[str, list[dict[str, Any]]] = {}
    async with db.session() as s:
        for name in TABLES:
            table = Base.metadata.tables[name]
            key = table.c.account_id if name == "account_balances" else table.c.id
            tables[name] = [dict(r._mapping) for r in await s.execute(select(table).order_by(key))]
        raw = {
            "outbox": list(await s.scalars(text("SELECT payload::text FROM outbox ORDER BY id"))),
            "audit_events": list(
                await s.scalars(text("SELECT details::text FROM audit_events ORDER BY id"))
            ),
        }
    return {"tables": tables, "raw": raw}


def _normalise(snapshot: dict[str, Any], outcomes: list[Outcome]) -> dict[str, Any]:
    """Ids become their rank in creation order; everything else stays as it is."""
    tables = snapshot["tables"]
    rank = {
        name: {row["id"]: i for i, row in enumerate(rows, 1)}
        for name, rows in tables.items()
        if rows and "id" in rows[0]
    }

    def ref(table: str, value: Any) -> Any:
        return None if value is None else rank[table][int(value)]

    out: dict[str, Any] = {}
    for name, rows in tables.items():
        normalised = []
        for row in rows:
            row = dict(row)
            if "id" in row and name not in ("accounts", "services"):
                row["id"] = rank[name][row["id"]]
            for column, target in REFERENCES.items():
                if column in row:
                    row[column] = ref(target, row[column])
            if name == "outbox":
                payload = dict(row["payload"])
                if "payment_id" in payload:
                    payload["payment_id"] = ref("payments", payload["payment_id"])
                row["payload"] = list(payload.items())
                if row["dedupe_key"]:
                    row["dedupe_key"] = re.sub(
                        r"^sms:payment:(\d+)$",
                        lambda m: f"sms:payment:#{ref('payments', m[1])}",
                        row["dedupe_key"],
                    )
            if name == "audit_events":
                if row["object_type"] == "payment":
                    row["object_id"] = ref("payments", row["object_id"])
                row["details"] = list(row["details"].items())
            normalised.append(row)
        out[name] = normalised
    out["outcomes"] = [
        (o[0], o[1], ref("payments", o[2]), o[3], _entry_ref(o[4], rank))
        if o[0] == "booked"
        # The PostgreSQL path draws a payment id before it may refuse: ids can have gaps.
        else (*o[:3], {k: ref("payments", v) if k == "payment_id" else v for k, v in o[3].items()})
        for o in outcomes
    ]
    # The JSON columns as stored: Python's json.dumps of the very dicts compared above.
    for texts in snapshot["raw"].values():
        for stored in texts:
            assert stored == json.dumps(json.loads(stored))
    out["raw"] = {
        name: [
            re.sub(r'"payment_id": (\d+)', lambda m: f'"payment_id": #{ref("payments", m[1])}', t)
            for t in texts
        ]
        for name, texts in snapshot["raw"].items()
    }
    return out


def _entry_ref(fields: tuple[Any, ...], rank: dict[str, dict[int, int]]) -> tuple[Any, ...]:
    entries = rank["journal_entries"]
    return tuple(
        entries[value] if column.key in REFERENCES and value is not None else value
        for column, value in zip((c for c in PAYMENT_COLUMNS if c.key != "id"), fields, strict=True)
    )


async def _reset(db: Database) -> None:
    async with db.session(write=True) as s:
        names = list(
            await s.scalars(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        )
        await s.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))


async def test_the_two_statement_path_writes_what_the_orm_path_writes(
    db: Database, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy()
    real_lock, real_write = pg_payment.lock, pg_payment.write

    async def lock(*args: Any, **kwargs: Any) -> pg_payment.Locked | None:
        spy.locked += 1
        return await real_lock(*args, **kwargs)

    async def write(*args: Any, **kwargs: Any) -> pg_payment.Written | None:
        written = await real_write(*args, **kwargs)
        if written is None:
            spy.declined += 1
        else:
            spy.written += 1
        return written

    monkeypatch.setattr(pg_payment, "lock", lock)
    monkeypatch.setattr(pg_payment, "write", write)

    monkeypatch.setattr(payments, "_on_postgres", lambda _session: False)
    orm_outcomes = await _scenario(db)
    orm = _normalise(await _snapshot(db), orm_outcomes)
    assert spy == Spy()

    await _reset(db)
    monkeypatch.undo()
    monkeypatch.setattr(pg_payment, "lock", lock)
    monkeypatch.setattr(pg_payment, "write", write)
    fast_outcomes = await _scenario(db)
    fast = _normalise(await _snapshot(db), fast_outcomes)

    # Every booking in two statements, restorations and stray credits included; replays and
    # refusals decided after the lock.
    assert spy == Spy(written=22, declined=0, locked=30)
    assert fast["outcomes"] == orm["outcomes"]
    for name in (*TABLES, "raw"):
        assert fast[name] == orm[name], name
    # The scenario restores five services in five bookings (cut_off's line then SIM, the SIM
    # beside the stray credits, the contested SIM, then its line), on both paths alike.
    restored = [o[3] for o in fast["outcomes"] if o[0] == "booked" and o[3]]
    assert [len(ids) for ids in restored] == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("change", ["another suspended", "label changed", "restored meanwhile"])
async def test_the_write_declines_when_the_suspended_services_changed_after_the_lock(
    db: Database, clock: Any, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Between the lock and the write another transaction may commit a change to the services
    (they are not under the balance row's lock): the write sees it, declines, and the ORM path
    books with what is true now."""
    async with db.session(write=True) as s:
        account, (sim, line) = await _customer_account(
            s, 1, (("mobile", "+79160000001"), ("internet", "eq-line-1"))
        )
        await charge(s, account, 5_000, due=D(2026, 9, 1), service=sim)
        await charge(s, account, 3_000, due=D(2026, 9, 2), service=line)
        await accounts.change_service_status(
            s, sim, "suspended", actor=ACTOR, reason="overdue", suspended_reason="debt"
        )
    spy = Spy()
    real_lock, real_write = pg_payment.lock, pg_payment.write

    async def lock(session: Any, **kwargs: Any) -> pg_payment.Locked | None:
        locked = await real_lock(session, **kwargs)
        spy.locked += 1
        if spy.locked == 1:  # what a concurrent transaction commits, seen by the next statement
            if change == "another suspended":
                values: dict[str, Any] = {"status": "suspended", "suspended_reason": "debt"}
                await session.execute(update(Service).where(Service.id == line.id).values(values))
            elif change == "label changed":
                await session.execute(
                    update(Service).where(Service.id == sim.id).values(label="SIM renamed")
                )
            else:
                await session.execute(
                    update(Service)
                    .where(Service.id == sim.id)
                    .values(status="active", suspended_reason=None)
                )
        return locked

    async def write(*args: Any, **kwargs: Any) -> pg_payment.Written | None:
        written = await real_write(*args, **kwargs)
        spy.declined += written is None
        spy.written += written is not None
        return written

    monkeypatch.setattr(pg_payment, "lock", lock)
    monkeypatch.setattr(pg_payment, "write", write)
    booked = await db.run(
        lambda s: book_payment(
            s,
            PaymentRequest(
                account=account,
                amount_minor=8_000,
                method="agent",
                source="osmp:BANK",
                source_txn_id="1",
                actor=BANK,
            ),
        )
    )
    assert spy == Spy(written=0, declined=1, locked=1)
    expected = {
        "another suspended": (sim.id, line.id),
        "label changed": (sim.id,),
        "restored meanwhile": (),
    }[change]
    assert booked.restored_service_ids == expected
    async with db.session() as s:
        restored = list(
            await s.scalars(
                text(
                    "SELECT payload::text FROM outbox WHERE topic = 'service.restored' ORDER BY id"
                )
            )
        )
        entries = await s.scalar(
            text("SELECT count(*) FROM journal_entries WHERE kind = 'payment'")
        )
    assert entries == 1
    assert len(restored) == len(expected)
    if change == "label changed":
        assert "SIM renamed" in json.loads(restored[0])["label"]


async def test_an_account_without_a_balance_row_books_through_the_orm_path(
    db: Database, clock: Any
) -> None:
    """Accounts open with a balance row; one that lost it (restored from an old dump, say) has
    nothing for the lock to take: the lock says so, and the ORM path books and makes the row."""
    from tests.factories import make_account

    async with db.session(write=True) as s:
        account, _ = await make_account(s)
    async with db.session(write=True) as s:
        await s.execute(
            text("DELETE FROM account_balances WHERE account_id = :a"), {"a": account.id}
        )
    async with db.session() as s:
        assert (
            await pg_payment.lock(
                s,
                account_id=account.id,
                customer_id=account.customer_id,
                source="osmp:BANK",
                source_txn_id="1",
            )
            is None
        )
    booked = await db.run(
        lambda s: book_payment(
            s,
            PaymentRequest(
                account=account,
                amount_minor=1_500,
                method="agent",
                source="osmp:BANK",
                source_txn_id="1",
                actor=BANK,
            ),
        )
    )
    assert booked.created
    async with db.session() as s:
        balance = await s.scalar(
            text("SELECT balance_minor FROM account_balances WHERE account_id = :a"),
            {"a": account.id},
        )
    assert balance == 1_500


def _once_booker(outcomes: list[str]) -> Book:
    """Book as the OSMP lane does: one statement, and the general path for what it hands back."""

    async def book(db: Database, request: PaymentRequest) -> payments.Booked:
        async with db.statement_connection() as connection:
            once = await payments_once.book_once(
                connection,
                payments_once.OnceRequest(
                    number=request.account.number,
                    amount_minor=request.amount_minor,
                    method=request.method,
                    source=request.source,
                    source_txn_id=request.source_txn_id,
                    actor=request.actor,
                    currency=request.currency,
                    txn_date=request.txn_date,
                    comment=request.comment,
                    agent_id=request.agent_id,
                ),
            )
        outcomes.append(once.outcome)
        if once.outcome == "fallback":
            return await _book_in_a_unit(db, request)
        async with db.session() as s:
            payment = await s.get(Payment, once.payment_id)
        assert payment is not None
        return payments.Booked(
            payment,
            created=once.outcome == "booked",
            restored_service_ids=once.restored_service_ids,
        )

    return book


async def test_the_one_statement_path_writes_what_the_orm_path_writes(
    db: Database, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(payments, "_on_postgres", lambda _session: False)
    orm_outcomes = await _scenario(db)
    orm = _normalise(await _snapshot(db), orm_outcomes)

    await _reset(db)
    monkeypatch.undo()
    outcomes: list[str] = []
    fast_outcomes = await _scenario(db, _once_booker(outcomes))
    fast = _normalise(await _snapshot(db), fast_outcomes)

    # Every booking and replay in one statement; what the general path refuses (mismatches,
    # closed accounts paid too much or owing nothing) handed back to it, and refused there.
    assert (outcomes.count("booked"), outcomes.count("replay"), outcomes.count("fallback")) == (
        22,
        3,
        5,
    )
    assert [
        o[0] for o, how in zip(fast["outcomes"], outcomes, strict=True) if how == "fallback"
    ] == ["refused"] * 5
    assert fast["outcomes"] == orm["outcomes"]
    for name in (*TABLES, "raw"):
        assert fast[name] == orm[name], name
    restored = [o[3] for o in fast["outcomes"] if o[0] == "booked" and o[3]]
    assert [len(ids) for ids in restored] == [1, 1, 1, 1, 1]
    # The label with every escape went through abonent_json_text into service.restored.
    assert any("\\ud83d\\ude00" in t for t in fast["raw"]["outbox"])


@pytest.mark.parametrize(
    "text",
    ["", "plain ascii 123", 'q"b\\s', "\x01\x1f\x7f\x80", "Интернет: кабель", "😀𝄞", "\t\n\r\b\f"],
)
async def test_abonent_json_text_is_pythons_json_dumps(db: Database, text: str) -> None:
    async with db.session() as s:
        got = await s.scalar(sql_text("SELECT abonent_json_text(:t)"), {"t": text})
    assert got == json.dumps(text)


async def test_the_call_passes_every_parameter_in_order() -> None:
    fields = [f for f in pg_agent_pay.AgentPayment.__dataclass_fields__]
    assert pg_agent_pay._CALL.count("$") == len(fields) == 23
