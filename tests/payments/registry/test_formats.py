"""Saved registry formats: `abonent registry format`, and imports that need no options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.cli.main import app
from abonent.models import AgentRegistryFormat, AuditEvent
from tests.payments.registry.test_cli import counts, in_db, runner, setup, write

BANK_FORMAT = [
    "--encoding", "cp1251", "--delimiter", ";", "--columns", "txn_date,txn_id,-,account,sum",
    "--date-format", "%d.%m.%Y %H:%M", "--trailer", "ИТОГО",
]  # fmt: skip


def bank_file(
    tmp_path: Path, w: dict[str, object], *, total: str | None = "ИТОГО;3;923,45"
) -> Path:
    text = (
        "Дата;Номер;Плательщик;Лицевой счёт;Сумма\r\n"
        f"17.11.2026 09:00;P1;Иванов И.И.;{w['a']};500,00\r\n"
        f"17.11.2026 10:00;P2;Петров П.П.;{w['b']};300,00\r\n"
        f"17.11.2026 11:00;P3;Иванов И.И.;{w['a']};123,45\r\n"
    ) + (f"{total}\r\n" if total else "")
    return write(tmp_path, text.encode("cp1251"), "bank.csv")


def saved_formats(url: str) -> list[tuple[int, dict[str, Any]]]:
    async def work(s: AsyncSession) -> list[tuple[int, dict[str, Any]]]:
        rows = await s.execute(select(AgentRegistryFormat.agent_id, AgentRegistryFormat.options))
        return [(a, o) for a, o in rows]

    return in_db(url, work)


def audit_actions(url: str) -> list[str]:
    async def work(s: AsyncSession) -> list[str]:
        return list(await s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))

    return in_db(url, work)


def test_a_saved_format_makes_the_daily_import_a_bare_command(
    env_db: str, clock, tmp_path: Path
) -> None:
    w = setup(env_db)
    shown = runner.invoke(app, ["registry", "format", "SBER"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == "SBER: no saved format: the defaults"

    saved = runner.invoke(app, ["registry", "format", "SBER", *BANK_FORMAT])
    assert saved.exit_code == 0, saved.output
    assert saved.stdout.splitlines() == [
        "SBER: saved",
        "  columns          txn_date,txn_id,-,account,sum",
        "  delimiter        ;",
        "  header           yes",
        "  encoding         cp1251",
        "  date format      %d.%m.%Y %H:%M",
        "  trailer          ИТОГО",
        "  trailer columns  -,count,sum",
    ]
    assert "registry.format_saved" in audit_actions(env_db)

    result = runner.invoke(app, ["registry", "import", "SBER", str(bank_file(tmp_path, w))])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "all 3 lines matched"


def test_options_given_to_an_import_override_the_saved_ones_for_that_run(
    env_db: str, clock, tmp_path: Path
) -> None:
    w = setup(env_db)
    assert runner.invoke(app, ["registry", "format", "SBER", *BANK_FORMAT]).exit_code == 0
    without_total = bank_file(tmp_path, w, total=None)
    before = counts(env_db)
    cut = runner.invoke(app, ["registry", "import", "SBER", str(without_total)])
    assert cut.exit_code == 1
    assert "no total line starting with 'ИТОГО': is the file cut short?" in cut.stderr
    assert counts(env_db) == before

    once = runner.invoke(
        app, ["registry", "import", "SBER", str(without_total), "--trailer", "none"]
    )
    assert once.exit_code == 0, once.output
    # The saved format itself is unchanged.
    ((_, options),) = saved_formats(env_db)
    assert options["trailer"] == "ИТОГО"


def test_changing_one_option_keeps_the_rest_and_forget_goes_back_to_defaults(
    env_db: str, clock
) -> None:
    setup(env_db)
    assert runner.invoke(app, ["registry", "format", "SBER", *BANK_FORMAT]).exit_code == 0
    changed = runner.invoke(app, ["registry", "format", "SBER", "--date-format", "auto"])
    assert changed.exit_code == 0, changed.output
    ((_, options),) = saved_formats(env_db)
    assert options == {
        "columns": ["txn_date", "txn_id", "-", "account", "sum"],
        "delimiter": ";",
        "header": True,
        "encoding": "cp1251",
        "date_format": None,
        "trailer": "ИТОГО",
        "trailer_columns": ["-", "count", "sum"],
    }
    gone = runner.invoke(app, ["registry", "format", "SBER", "--forget"])
    assert gone.exit_code == 0 and gone.stdout.startswith("SBER: saved format dropped")
    assert saved_formats(env_db) == []
    again = runner.invoke(app, ["registry", "format", "SBER", "--forget"])
    assert again.exit_code == 0 and again.stdout.startswith("SBER: no saved format")
    assert audit_actions(env_db)[-2:] == ["registry.format_saved", "registry.format_forgotten"]


def test_bad_formats_are_refused_and_change_nothing(env_db: str, clock) -> None:
    setup(env_db)
    assert runner.invoke(app, ["registry", "format", "SBER", *BANK_FORMAT]).exit_code == 0
    kept = saved_formats(env_db)
    before = audit_actions(env_db)
    cases = [
        (["SBER", "--columns", "txn_id,sum"], "columns must include account"),
        (["SBER", "--encoding", "koi8-r"], "encoding 'koi8-r': use utf-8 or cp1251"),
        (["SBER", "--delimiter", "#"], "delimiter '#'"),
        (["SBER", "--trailer-columns", "count,total"], "unknown trailer column 'total'"),
        (["SBER", "--trailer", " "], "--trailer needs the text"),
        (["SBER", "--forget", "--header"], "--forget takes no other options"),
        (["NOBODY", "--encoding", "cp1251"], "no agent NOBODY"),
        (["NOBODY"], "no agent NOBODY"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["registry", "format", *args])
        assert result.exit_code == 1, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
    assert saved_formats(env_db) == kept
    assert audit_actions(env_db) == before
