from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.kit.money import format_money
from abonent.kit.numbers import luhn_check_digit
from abonent.statement.service import statement_for
from tests.factories import charge, make_account, pay

D = dt.date
runner = CliRunner()
UNKNOWN = "12345678901" + luhn_check_digit("12345678901")
TYPO = UNKNOWN[:-1] + str((int(UNKNOWN[-1]) + 1) % 10)


def said(text: str) -> str:
    return " ".join(text.split())


def setup(url: str) -> tuple[str, str, str, dict[str, Any]]:
    """An account owing on internet (overdue), mobile (not yet due) and the account itself."""

    async def go() -> tuple[str, str, str, dict[str, Any]]:
        db = Database(url)
        try:
            async with db.session(write=True) as s:
                account, (sim, line) = await make_account(
                    s, kinds=("mobile", "internet"), credit_limit_minor=30_000
                )
                await charge(s, account, 50_000, due=D(2026, 10, 15), service=line)
                await charge(s, account, 30_000, due=D(2026, 9, 15), service=sim)
                await charge(s, account, 20_000, due=D(2026, 11, 30), service=sim)
                await charge(s, account, 1_234_567, due=D(2026, 12, 25))
                await pay(s, account, 40_000)
            async with db.session() as s:
                st = await statement_for(s, account)
            return account.number, sim.label, line.label, st.model_dump(mode="json")
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_show_reads_like_a_statement(env_db: str, clock: Any) -> None:
    number, sim_label, line_label, _ = setup(env_db)
    result = runner.invoke(app, ["account", "show", number])
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]

    def m(minor: int) -> str:
        return " ".join(format_money(minor).split())

    assert lines[0] == f"Лицевой счёт {number} — активен"
    assert f"Баланс {m(-1_294_567)}" in lines
    assert f"Кредитный лимит {m(30_000)}" in lines
    assert f"Доступно {m(-1_264_567)}" in lines
    assert f"Задолженность {m(1_294_567)}" in lines
    assert f"в том числе просрочено {m(40_000)}" in lines
    assert "Ближайший срок оплаты 30.11.2026" in lines
    services = lines[lines.index("Задолженность по услугам") + 1 :][:3]
    # Services by debt, largest first; what is not tied to a service comes last.
    assert services == [
        f"Домашний интернет: {line_label} {m(40_000)} просрочено {m(40_000)}",
        f"Мобильная связь: {sim_label} {m(20_000)}",
        f"Лицевой счёт {m(1_234_567)}",
    ]
    ageing = lines[lines.index("Задолженность по срокам") + 1 :][:3]
    assert ageing == [
        f"срок не наступил {m(1_254_567)}",
        f"просрочено 31–60 дней {m(40_000)}",
        "",
    ]
    assert lines[-1] == "По состоянию на 18.11.2026"
    # Amounts stand in one column: every amount line ends at the same place.
    amount_lines = [line for line in result.output.splitlines() if line.endswith("₽")]
    amount_lines = [line.split("   просрочено")[0] for line in amount_lines]
    assert len({len(line) for line in amount_lines}) == 1


def test_show_json_is_the_statement_exactly(env_db: str, clock: Any) -> None:
    number, _, _, expected = setup(env_db)
    result = runner.invoke(app, ["account", "show", number, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == expected
    assert expected["debt_minor"] == 1_294_567 and expected["overdue_minor"] == 40_000


def test_show_an_account_without_debt(env_db: str, clock: Any) -> None:
    async def go() -> str:
        db = Database(env_db)
        try:
            async with db.session(write=True) as s:
                account, _ = await make_account(s)
                await pay(s, account, 12_345)
            return account.number
        finally:
            await db.dispose()

    number = asyncio.run(go())
    result = runner.invoke(app, ["account", "show", number])
    assert result.exit_code == 0
    assert "Задолженности нет" in result.output
    assert f"Баланс {' '.join(format_money(12_345).split())}" in said(result.output)
    assert "Ближайший срок оплаты —" in said(result.output)


def test_show_refuses_typos_and_unknown_numbers(env_db: str) -> None:
    for number, message in (
        (TYPO, "check digit does not match"),
        (UNKNOWN, f"no account {UNKNOWN}"),
        ("12345", "must be 12 digits"),
        ("номер", "must be 12 digits"),
    ):
        for extra in ([], ["--json"]):
            result = runner.invoke(app, ["account", "show", number, *extra])
            assert result.exit_code == 1, (number, result.output)
            assert message in said(result.stderr), number
            assert result.stdout == ""


def _zone_account(url: str) -> str:
    """An account with no zone of its own, whose holder's contact phone is a Novosibirsk SIM."""

    async def go() -> str:
        from abonent.models import Customer

        db = Database(url)
        try:
            async with db.session(write=True) as s:
                account, _ = await make_account(s)
                holder = await s.get_one(Customer, account.customer_id)
                holder.contact_phone = "+79137001234"
            return account.number
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_zone_shows_sets_refuses_and_clears(env_db: str, clock: Any) -> None:
    number = _zone_account(env_db)
    shown = runner.invoke(app, ["account", "zone", number])
    assert shown.exit_code == 0, shown.output
    out = said(shown.output)
    assert "пояс счёта: — не задан" in out and "пояс владельца: — не задан" in out
    assert "уведомления по: Asia/Novosibirsk (регион номера по коду DEF)" in out
    done = runner.invoke(app, ["account", "zone", number, "--set", "Asia/Omsk"])
    assert done.exit_code == 0, done.output
    assert "пояс счёта: Asia/Omsk" in said(done.output)
    assert "уведомления по: Asia/Omsk (пояс счёта)" in said(done.output)
    refused = runner.invoke(app, ["account", "zone", number, "--set", "Mars/Olympus"])
    assert refused.exit_code == 1 and "timezone_invalid" in refused.output
    assert "пояс счёта: Asia/Omsk" in said(runner.invoke(app, ["account", "zone", number]).output)
    cleared = runner.invoke(app, ["account", "zone", number, "--clear"])
    assert cleared.exit_code == 0 and "пояс счёта: — не задан" in said(cleared.output)
