"""``abonent charges import`` and ``abonent fees run``: exit codes and what they say."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abonent.accounts import service as accounts
from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock, use_clock
from tests.charges.helpers import Snapshot, csv_text, snapshot
from tests.factories import ACTOR, make_account

runner = CliRunner()
NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen() -> object:
    with use_clock(FrozenClock(NOW)) as c:
        yield c


def run(url: str, work):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def two_accounts(url: str) -> tuple[str, str, str]:
    async def work(db: Database) -> tuple[str, str, str]:
        async with db.session(write=True) as s:
            await accounts.ensure_tariff(
                s, code="MOB", name="Смарт", service_kind="mobile", monthly_fee_minor=45_000
            )
            a, (sim,) = await make_account(s)
            b, _ = await make_account(s)
            await accounts.add_service(
                s,
                b,
                accounts.ServiceSpec(kind="mobile", msisdn="+79990001122", tariff_code="MOB"),
                actor=ACTOR,
            )
        return a.number, b.number, sim.msisdn or ""

    return run(url, work)


def state(url: str) -> Snapshot:
    async def work(db: Database) -> Snapshot:
        async with db.session() as s:
            return await snapshot(s)

    return run(url, work)


def test_import_then_again(env_db: str, frozen: object, tmp_path: Path) -> None:
    a, b, msisdn = two_accounts(env_db)
    path = tmp_path / "rating-2026-11.csv"
    path.write_text(
        csv_text(
            [
                ("c1", a, msisdn, "150.00", "usage", "2026-11", "2026-11-10", "", ""),
                ("c2", a, "", "50.50", "one_off", "2026-11", "2026-11-10", "", ""),
                ("c3", b, "", "0.99", "usage", "2026-11", "2026-11-10", "", ""),
            ]
        ),
        encoding="utf-8",
    )

    first = runner.invoke(app, ["charges", "import", str(path)])

    assert first.exit_code == 0, first.output
    assert (
        "rating-2026-11.csv: 3 rows; imported 3 charges (201,49\u00a0₽) on 2 accounts in 1 batches"
        in first.output
    )
    after_first = state(env_db)

    second = runner.invoke(app, ["charges", "import", str(path)])

    assert second.exit_code == 0, second.output
    assert "imported 0 charges (0,00\u00a0₽) on 0 accounts" in second.output
    assert "already there: 3 charges were imported before" in second.output
    assert state(env_db) == after_first


def test_a_bad_file_exits_1_listing_every_bad_line(
    env_db: str, frozen: object, tmp_path: Path
) -> None:
    a, b, _ = two_accounts(env_db)
    path = tmp_path / "bad.csv"
    path.write_text(
        csv_text(
            [
                ("d1", a, "", "1.00", "usage", "2026-11", "2026-11-10", "", ""),
                ("d2", a, "", "1.005", "usage", "2026-11", "2026-11-10", "", ""),
                ("d3", b[:-1] + str((int(b[-1]) + 5) % 10), "", "1.00", "usage", "2026-11",
                 "2026-11-10", "", ""),
            ]
        ),
        encoding="utf-8",
    )  # fmt: skip
    before = state(env_db)

    result = runner.invoke(app, ["charges", "import", str(path)])

    assert result.exit_code == 1
    assert (
        "error [charges_file_invalid]: 2 of 3 rows are invalid; nothing was imported"
        in result.output
    )
    assert "line 3: amount: amount: at most two decimals allowed: '1.005'" in result.output
    assert (
        "line 4: account_number: account number check digit does not match (mistyped?)"
        in result.output
    )
    assert "line 2" not in result.output
    assert state(env_db) == before

    skipped = runner.invoke(app, ["charges", "import", str(path), "--skip-invalid"])

    assert skipped.exit_code == 0, skipped.output
    assert "imported 1 charges (1,00\u00a0₽) on 1 accounts" in skipped.output
    assert "skipped 2 invalid rows:" in skipped.output
    assert "line 3: amount" in skipped.output


def test_unreadable_file_and_bad_batch_size_exit_1(
    env_db: str, frozen: object, tmp_path: Path
) -> None:
    a, _, _ = two_accounts(env_db)
    missing = runner.invoke(app, ["charges", "import", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1
    assert "error [file_unreadable]: cannot read" in missing.output

    path = tmp_path / "ok.csv"
    path.write_text(csv_text([("o1", a, "", "1.00", "usage", "2026-11", "2026-11-10", "", "")]))
    zero = runner.invoke(app, ["charges", "import", str(path), "--batch-size", "0"])
    assert zero.exit_code == 1
    assert "error [batch_size_invalid]: batch size must be a positive number of rows" in (
        zero.output
    )
    assert state(env_db).items == ()


def test_fees_run_and_run_again(env_db: str, frozen: object) -> None:
    two_accounts(env_db)

    first = runner.invoke(app, ["fees", "run", "--period", "2026-11"])

    assert first.exit_code == 0, first.output
    # The SIM was activated on 18 November: 13 of 30 days of 450.00.
    assert (
        "fees for 2026-11: 1 services with a paid tariff; posted 1 (195,00\u00a0₽), "
        "already there 0" in first.output
    )
    assert "1 of them are for part of the month" in first.output

    again = runner.invoke(app, ["fees", "run", "--period", "2026-11"])

    assert again.exit_code == 0, again.output
    assert "posted 0 (0,00\u00a0₽), already there 1" in again.output


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2026-13", "error [period_invalid]: period must be YYYY-MM, got '2026-13'"),
        ("2027-01", "error [period_not_begun]: period 2027-01 has not begun (today is 2026-11-18)"),
    ],
)
def test_fees_bad_period_exits_1(env_db: str, frozen: object, period: str, expected: str) -> None:
    two_accounts(env_db)
    before = state(env_db)
    result = runner.invoke(app, ["fees", "run", "--period", period])
    assert result.exit_code == 1
    assert expected in result.output
    assert state(env_db) == before
