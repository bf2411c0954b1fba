"""A collection agency as a payment agent: what it collects reduces the debt; its commission is
reported on its portfolio only and never posted to the subscriber."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.collections import agents
from abonent.collections import service as collections
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.kit.errors import AbonentError
from abonent.models import Account, AuditEvent, CollectionAgency, JournalEntry, PaymentAgent
from abonent.payments import sources
from abonent.payments.agents import service as payment_agents
from abonent.payments.service import PaymentRequest, book_payment
from abonent.statement.service import statement_for
from tests.factories import charge, make_account

D = dt.date
STAFF = Actor("staff:7:olga", "collections")
runner = CliRunner()


def at(clock: FrozenClock, day: dt.date) -> None:
    clock.at = dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC)


async def _pay(db: Database, account: Account, agent: PaymentAgent, amount: int, txn: str) -> None:
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        await book_payment(
            s,
            PaymentRequest(
                account=fresh,
                amount_minor=amount,
                method="agent",
                source=sources.osmp(agent.code),
                source_txn_id=txn,
                actor=Actor(f"agent:{agent.code}"),
                agent_id=agent.id,
            ),
        )


async def _setup(db: Database) -> tuple[CollectionAgency, PaymentAgent, Account, Account]:
    async with db.session(write=True) as s:
        held, (sim,) = await make_account(s)
        other, (sim2,) = await make_account(s)
        await charge(s, held, 300_000, due=D(2026, 9, 10), service=sim)
        await charge(s, other, 100_000, due=D(2026, 9, 10), service=sim2)
        agent = await payment_agents.create_agent(
            s, code="AGENCY1", password="agency-secret-1", allowed_ips=["127.0.0.1"], actor=STAFF
        )
        agency = await collections.add_agency(
            s, name="Долг-Контроль", inn="7707083893", commission_bp=1_550, actor=STAFF
        )
        await agents.link_agent(s, agency.id, "AGENCY1", actor=STAFF)
        fresh = await s.get_one(Account, held.id)
        await collections.handover(s, fresh, agency.id, actor=STAFF, as_of=D(2026, 11, 2))
    return agency, agent, held, other


async def test_collected_reduces_debt_and_commission_is_reported_not_posted(
    db: Database, clock: FrozenClock
) -> None:
    agency, agent, held, other = await _setup(db)
    at(clock, D(2026, 11, 1))  # before the hand-over: not its portfolio yet
    await _pay(db, held, agent, 10_000, "t1")
    at(clock, D(2026, 11, 10))
    await _pay(db, held, agent, 100_001, "t2")
    await _pay(db, other, agent, 40_000, "t3")
    async with db.session() as s:
        entries = await s.scalar(select(func.count()).select_from(JournalEntry))
        st = await statement_for(s, await s.get_one(Account, held.id))
        kind = (await s.get_one(PaymentAgent, agent.id)).kind
        report = await agents.commission_report(
            s, agency.id, D(2026, 11, 1), D(2026, 11, 30), actor=STAFF
        )
        again = await s.scalar(select(func.count()).select_from(JournalEntry))
    assert kind == "collection"
    assert st.debt_minor == 300_000 - 10_000 - 100_001
    assert [(x.amount_minor, x.in_portfolio) for x in report.lines] == [
        (10_000, False),
        (100_001, True),
        (40_000, False),
    ]
    assert report.collected_minor == 100_001
    assert report.outside_minor == 50_000
    # 15,5 % of 1 000,01 ₽ = 155,00155 ₽ → 155,00 ₽: half up to the kopeck, per payment.
    assert report.commission_minor == 15_500
    assert entries == again  # a report writes nothing, and the commission is no posting

    at(clock, D(2026, 11, 20))
    async with db.session(write=True) as s:
        assignment = (
            await collections.handover(
                s, await s.get_one(Account, held.id), agency.id, actor=STAFF, as_of=D(2026, 11, 20)
            )
        ).assignment
        await collections.recall(s, assignment.id, actor=STAFF, as_of=D(2026, 11, 20))
    at(clock, D(2026, 11, 21))
    await _pay(db, held, agent, 20_000, "t4")
    async with db.session() as s:
        late = await agents.commission_report(
            s, agency.id, D(2026, 11, 21), D(2026, 11, 21), actor=STAFF
        )
    assert [(x.amount_minor, x.in_portfolio, x.commission_minor) for x in late.lines] == [
        (20_000, False, 0)
    ]


async def test_refusals_change_nothing(db: Database, clock: FrozenClock) -> None:
    agency, _agent, held, _ = await _setup(db)
    async with db.session(write=True) as s:
        bank = await payment_agents.create_agent(
            s, code="BANK1", password="bank-secret-12", allowed_ips=["127.0.0.1"], actor=STAFF
        )
        second = await collections.add_agency(s, name="Второе", inn="500100732259", actor=STAFF)
    await _pay(db, held, bank, 1_000, "b1")

    async def audit_count() -> int:
        async with db.session() as s:
            return await s.scalar(select(func.count()).select_from(AuditEvent)) or 0

    before = await audit_count()
    cases: list[tuple[object, str]] = [
        (lambda s: agents.link_agent(s, second.id, "AGENCY1", actor=STAFF), "agency_agent_taken"),
        (lambda s: agents.link_agent(s, second.id, "BANK1", actor=STAFF), "agency_agent_in_use"),
        (lambda s: agents.link_agent(s, 999, "AGENCY1", actor=STAFF), "agency_not_found"),
        (lambda s: agents.link_agent(s, second.id, "NOPE", actor=STAFF), "agent_not_found"),
        (
            lambda s: agents.link_agent(s, second.id, "AGENCY1", actor=Actor("x", "hotline")),
            "collections_role_refused",
        ),
        (
            lambda s: agents.commission_report(
                s, agency.id, D(2026, 11, 2), D(2026, 11, 1), actor=STAFF
            ),
            "period_invalid",
        ),
        (
            lambda s: agents.commission_report(
                s, agency.id, D(2025, 1, 1), D(2026, 11, 1), actor=STAFF
            ),
            "period_too_long",
        ),
        (
            lambda s: agents.commission_report(
                s, second.id, D(2026, 11, 1), D(2026, 11, 2), actor=STAFF
            ),
            "agency_no_agent",
        ),
    ]
    for call, code in cases:
        with pytest.raises(AbonentError) as refused:
            async with db.session(write=True) as s:
                await call(s)  # type: ignore[operator]
        assert refused.value.code == code
    assert await audit_count() == before
    async with db.session() as s:
        assert (await s.get_one(PaymentAgent, bank.id)).kind == "payment"
        assert (await s.get_one(CollectionAgency, second.id)).agent_id is None


def test_cli_link_and_commission(env_db: str, clock: FrozenClock, tmp_path: Path) -> None:
    import asyncio

    async def make() -> tuple[int, str]:
        db = Database(env_db)
        try:
            agency, agent, held, _ = await _setup(db)
            at(clock, D(2026, 11, 10))
            await _pay(db, held, agent, 100_000, "c1")
            async with db.session(write=True) as s:
                await payment_agents.create_agent(
                    s,
                    code="AG2",
                    password="agency-secret-2",
                    allowed_ips=["127.0.0.1"],
                    actor=STAFF,
                )
                spare = await collections.add_agency(
                    s, name="Третье", inn="7728168971", actor=STAFF
                )
            return agency.id, str(spare.id)
        finally:
            await db.dispose()

    agency_id, spare = asyncio.run(make())
    out = tmp_path / "commission.csv"
    done = runner.invoke(
        app,
        [
            "agency",
            "commission",
            str(agency_id),
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--csv",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "commission 15,50 % = 155,00 ₽" in said.replace("\u00a0", " ")
    assert out.read_text(encoding="utf-8").splitlines()[1].endswith(";1000.00;yes;155.00")
    linked = runner.invoke(app, ["agency", "link-agent", spare, "AG2"])
    assert linked.exit_code == 0, linked.output
    listing = runner.invoke(app, ["agent", "list"])
    # The table narrows to the terminal; the kind column starts with the word either way.
    assert "│ colle" in listing.output
    for args, code in [
        (["agency", "commission", str(agency_id), "--from", "1.11.2026", "--to", "2026-11-30"], 2),
        (["agency", "link-agent", spare, "AGENCY1"], 1),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output


async def test_the_agencys_registry_books_what_it_collected(
    db: Database, clock: FrozenClock
) -> None:
    from abonent.payments.registry.parser import Options
    from abonent.payments.registry.service import import_registry
    from tests.payments.registry.helpers import msk, osmp_date, registry

    agency, _agent, held, _ = await _setup(db)
    data = registry(f"R1;{held.number};300,00;{osmp_date(msk(17, 10))}")

    async def load() -> None:
        async with db.session(write=True) as s:
            await import_registry(
                s,
                agent_code="AGENCY1",
                file_name="agency-20261117.csv",
                data=data,
                options=Options(),
                actor=STAFF,
                book_missing=True,
            )

    await load()
    await load()  # the same registry again books nothing more
    async with db.session() as s:
        st = await statement_for(s, await s.get_one(Account, held.id))
        report = await agents.commission_report(
            s, agency.id, D(2026, 11, 1), D(2026, 11, 30), actor=STAFF
        )
    assert st.debt_minor == 300_000 - 30_000
    assert [(x.amount_minor, x.in_portfolio) for x in report.lines] == [(30_000, True)]
    assert report.commission_minor == 4_650  # 15,5 % of 300 ₽
