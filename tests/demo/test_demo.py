"""The demo: the same seed gives the same data, the ledger reconciles, the showcase is true."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.demo.loader import DemoDatabaseNotEmpty, load_demo
from abonent.kit.clock import FrozenClock, use_clock
from abonent.ledger.reconcile import reconcile
from abonent.models import (
    Account,
    AccountBalance,
    ApiKey,
    Customer,
    OpenItem,
    OutboxMessage,
    Payment,
    PaymentAgent,
    Service,
)
from tests.charges.helpers import snapshot
from tests.factories import make_account

runner = CliRunner()
NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)


async def fingerprint(s: AsyncSession) -> dict[str, object]:
    """What the demo made, by business keys (not by row ids)."""
    accounts = (
        await s.execute(
            select(
                Account.number,
                Account.status,
                Customer.full_name,
                AccountBalance.balance_minor,
                AccountBalance.debt_minor,
                AccountBalance.entries_count,
            )
            .join(Customer, Customer.id == Account.customer_id)
            .join(AccountBalance, AccountBalance.account_id == Account.id)
            .order_by(Account.number)
        )
    ).all()
    services = (
        await s.execute(
            select(
                Account.number,
                Service.kind,
                Service.msisdn,
                Service.login,
                Service.smart_card,
                Service.chip_id,
                Service.status,
                Service.suspended_reason,
                Service.activated_at,
            )
            .join(Account, Account.id == Service.account_id)
            .order_by(
                Account.number, Service.kind, Service.msisdn, Service.login, Service.smart_card
            )
        )
    ).all()
    items = (
        await s.execute(
            select(
                OpenItem.side,
                OpenItem.kind,
                func.count(),
                func.sum(OpenItem.amount_minor),
                func.sum(OpenItem.remaining_minor),
            )
            .group_by(OpenItem.side, OpenItem.kind)
            .order_by(OpenItem.side, OpenItem.kind)
        )
    ).all()
    payments = (
        await s.execute(
            select(
                Payment.source, Payment.source_txn_id, Payment.amount_minor, Payment.created_at
            ).order_by(Payment.source, Payment.source_txn_id)
        )
    ).all()
    return {
        "accounts": [tuple(r) for r in accounts],
        "services": [tuple(r) for r in services],
        "items": [tuple(r) for r in items],
        "payments": [tuple(r) for r in payments],
    }


async def test_same_seed_same_data_and_a_clean_ledger(
    db: Database, clock, sqlite_template: Path, tmp_path: Path
) -> None:
    report = await load_demo(db, seed=3, customers=40)
    other_path = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, other_path)
    other = Database(f"sqlite:///{other_path}")
    try:
        again = await load_demo(other, seed=3, customers=40)
        async with db.session() as s, other.session() as t:
            first = await fingerprint(s)
            assert first == await fingerprint(t)
            assert len(first["accounts"]) == report.accounts == again.accounts  # type: ignore[arg-type]
            assert (await reconcile(s)).clean
            assert (await reconcile(t)).clean
    finally:
        await other.dispose()
    assert report.reconciled
    assert report.customers == 40
    assert report.in_credit > 0 and report.overdue > 0
    assert report.suspended_for_debt > 0 and report.closed_with_debt > 0
    assert [r for r, _name, key in report.api_keys if key.startswith("abk_")] == [
        "admin",
        "clerk",
        "hotline",
        "collections",
        "integration",
    ]
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(ApiKey)) == 5
        agent = await s.scalar(select(PaymentAgent).where(PaymentAgent.code == "DEMOBANK"))
        assert agent is not None and sorted(agent.allowed_ips) == ["127.0.0.1/32", "::1/128"]
        pending = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )
        assert pending == 0
        sources = set((await s.scalars(select(Payment.source).distinct())).all())
        assert {"osmp:DEMOBANK", "office"} <= sources


@pytest.mark.parametrize(
    "now",
    [
        NOW,
        # Just after midnight on the 1st in Moscow (still the day before in UTC).
        dt.datetime(2027, 2, 28, 21, 30, tzinfo=dt.UTC),
        # The 15th: what falls due today is not overdue yet.
        dt.datetime(2026, 5, 15, 9, 0, tzinfo=dt.UTC),
    ],
    ids=["mid-month", "first-of-month", "due-day"],
)
async def test_the_showcase_says_what_is_true(db: Database, now: dt.datetime) -> None:
    with use_clock(FrozenClock(now)):
        report = await load_demo(db, seed=11, customers=30)
    today = report.today
    family, late, split, closed, home, mobile = report.showcase
    assert family.statement.balance_minor > 0 and family.statement.debt_minor == 0
    assert late.statement.overdue_minor > 0 and not late.suspended
    assert late.statement.overdue_minor == late.statement.ageing.days_0_30
    assert split.statement.ageing.days_90_plus > 0
    by_kind = {d.kind: d for d in split.statement.debt_by_service}
    assert by_kind["internet"].overdue_minor > 0 and split.suspended
    assert by_kind["mobile"].debt_minor > 0 and by_kind["mobile"].overdue_minor == 0
    assert closed.statement.status == "closed" and closed.statement.debt_minor > 0
    assert len(home.suspended) == 2 and home.statement.ageing.days_90_plus > 0
    assert mobile.statement.overdue_minor == 0
    assert report.reconciled
    async with db.session() as s:
        # The late payer's oldest unpaid charge fell due less than 30 days ago.
        account = await s.scalar(select(Account).where(Account.number == late.number))
        assert account is not None
        oldest = await s.scalar(
            select(func.min(OpenItem.due_date)).where(
                OpenItem.account_id == account.id,
                OpenItem.side == "debit",
                OpenItem.remaining_minor > 0,
            )
        )
        assert oldest is not None and today - dt.timedelta(days=30) <= oldest < today
        owners = (
            await s.scalars(
                select(Account.customer_id).where(Account.number.in_([home.number, mobile.number]))
            )
        ).all()
        assert len(set(owners)) == 1


async def test_a_database_with_customers_is_refused(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        await make_account(s)
    async with db.session() as s:
        before = await snapshot(s)
    with pytest.raises(DemoDatabaseNotEmpty) as refused:
        await load_demo(db, seed=1, customers=20)
    assert refused.value.code == "demo_database_not_empty"
    async with db.session() as s:
        assert await snapshot(s) == before
        assert await s.scalar(select(func.count()).select_from(Customer)) == 1


def test_demo_load_prints_how_to_try_it(env_db: str) -> None:
    result = runner.invoke(
        app, ["demo", "load", "--seed", "5", "--customers", "20", "--port", "8123", "--with-worker"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    for line in (
        "http://127.0.0.1:8123/docs",
        "http://127.0.0.1:8123/openapi.json",
        "http://127.0.0.1:8123/healthz",
        "ledger reconciled: no drift",
        "Payment agent (OSMP): code DEMOBANK, password demo-pass-2026",
        "curl -s -u DEMOBANK:demo-pass-2026 'http://127.0.0.1:8123/agents/osmp/DEMOBANK?command=check",
        "/v1/lookup?msisdn=%2B7",
        "/statement",
    ):
        assert line in out, line
    for role in ("admin", "clerk", "hotline", "collections", "integration"):
        assert f"  {role:<12} abk_" in out

    again = runner.invoke(app, ["demo", "load", "--seed", "5", "--customers", "20"])

    assert again.exit_code == 1
    assert "error [demo_database_not_empty]: the database already holds" in again.output
