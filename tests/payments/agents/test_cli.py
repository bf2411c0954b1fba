"""``abonent agent …``: create, list, disable, enable, set-password; refusals change nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.models import AuditEvent, PaymentAgent
from abonent.payments.agents import service as agents

runner = CliRunner()


def agents_in(url: str) -> list[tuple[str, str, list[str], int, int, str, bool]]:
    async def read() -> list[tuple[str, str, list[str], int, int, str, bool]]:
        db = Database(url)
        try:
            async with db.session() as s:
                return [
                    (
                        a.code,
                        a.name,
                        a.allowed_ips,
                        a.min_sum_minor,
                        a.max_sum_minor,
                        a.disclosure,
                        a.active,
                    )
                    for a in await s.scalars(select(PaymentAgent).order_by(PaymentAgent.code))
                ]
        finally:
            await db.dispose()

    return asyncio.run(read())


def password_of(url: str, code: str, password: str) -> bool:
    async def read() -> bool:
        db = Database(url)
        try:
            async with db.session() as s:
                return agents.password_matches(await agents.get_agent(s, code), password)
        finally:
            await db.dispose()

    return asyncio.run(read())


def audit_actions(url: str) -> list[str]:
    async def read() -> list[str]:
        db = Database(url)
        try:
            async with db.session() as s:
                return list(await s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_create_list_disable_enable_set_password(env_db: str) -> None:
    result = runner.invoke(
        app,
        [
            "agent",
            "create",
            "SBER",
            "--password",
            "long-enough-1",
            "--allow-ip",
            "10.0.0.0/8",
            "--allow-ip",
            "192.0.2.7",
            "--min-sum",
            "10",
            "--max-sum",
            "30000.50",
            "--disclose",
            "masked",
            "--name",
            "Сбербанк",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "SBER" in result.output and "10.00–30000.50" in result.output
    assert "long-enough-1" not in result.output
    assert agents_in(env_db) == [
        ("SBER", "Сбербанк", ["10.0.0.0/8", "192.0.2.7/32"], 1_000, 3_000_050, "masked", True)
    ]
    assert password_of(env_db, "SBER", "long-enough-1")

    listed = runner.invoke(app, ["agent", "list"])
    assert listed.exit_code == 0
    assert "SBER" in listed.output and "30000.50" in listed.output and "active" in listed.output

    assert runner.invoke(app, ["agent", "disable", "SBER"]).exit_code == 0
    assert agents_in(env_db)[0][-1] is False
    assert "disabled" in runner.invoke(app, ["agent", "list"]).output
    assert runner.invoke(app, ["agent", "enable", "SBER"]).exit_code == 0
    assert agents_in(env_db)[0][-1] is True

    changed = runner.invoke(app, ["agent", "set-password", "SBER", "--password", "another-one-2"])
    assert changed.exit_code == 0, changed.output
    assert password_of(env_db, "SBER", "another-one-2")
    assert not password_of(env_db, "SBER", "long-enough-1")
    assert audit_actions(env_db) == [
        "agent.create",
        "agent.disable",
        "agent.enable",
        "agent.set_password",
    ]


def test_defaults(env_db: str) -> None:
    result = runner.invoke(
        app,
        ["agent", "create", "QIWI", "--password", "long-enough-1", "--allow-ip", "203.0.113.0/24"],
    )
    assert result.exit_code == 0, result.output
    assert agents_in(env_db) == [("QIWI", "QIWI", ["203.0.113.0/24"], 100, 1_500_000, "none", True)]


BAD = {
    "bad code": ["ab cd"],
    "one-letter code": ["A"],
    "weak password": ["SBER", "--password", "short"],
    "bad address": ["SBER", "--allow-ip", "10.0.0.300"],
    "three decimals": ["SBER", "--min-sum", "1.001"],
    "not an amount": ["SBER", "--max-sum", "lots"],
    "negative": ["SBER", "--min-sum", "-1"],
    "zero minimum": ["SBER", "--min-sum", "0"],
    "min above max": ["SBER", "--min-sum", "500", "--max-sum", "100"],
    "bad disclosure": ["SBER", "--disclose", "full"],
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_1_and_creates_nothing(env_db: str, case: str) -> None:
    args = BAD[case]
    command = [
        "agent",
        "create",
        args[0],
        "--password",
        "long-enough-1",
        "--allow-ip",
        "127.0.0.1",
        *args[1:],
    ]
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    assert "error" in result.output
    assert agents_in(env_db) == []
    assert audit_actions(env_db) == []


def test_missing_allow_ip_is_a_usage_error(env_db: str) -> None:
    result = runner.invoke(app, ["agent", "create", "SBER", "--password", "long-enough-1"])
    assert result.exit_code == 2
    assert agents_in(env_db) == []


def test_duplicate_and_unknown_agents_exit_1(env_db: str) -> None:
    create = ["agent", "create", "SBER", "--password", "long-enough-1", "--allow-ip", "127.0.0.1"]
    assert runner.invoke(app, create).exit_code == 0
    before = agents_in(env_db)
    again = runner.invoke(app, [*create[:4], "another-pass-1", *create[5:]])
    assert again.exit_code == 1 and "exists" in again.output
    assert agents_in(env_db) == before
    assert password_of(env_db, "SBER", "long-enough-1")
    for command in (
        ["agent", "disable", "NOPE"],
        ["agent", "enable", "NOPE"],
        ["agent", "set-password", "NOPE", "--password", "long-enough-2"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 1 and "no agent NOPE" in result.output
    weak = runner.invoke(app, ["agent", "set-password", "SBER", "--password", "short"])
    assert weak.exit_code == 1
    assert password_of(env_db, "SBER", "long-enough-1")
    assert audit_actions(env_db) == ["agent.create"]


@pytest.mark.parametrize(
    ("code", "name", "where"),
    [("SB\x00ER", "Sber", "code"), ("SBER", "Sber\x00bank", "--name"), ("SBER", "a\tb", "--name")],
)
def test_create_refuses_control_characters_in_the_code_or_name(
    env_db: str, code: str, name: str, where: str
) -> None:
    result = runner.invoke(
        app,
        [
            *("agent", "create", code, "--password", "long-enough-1"),
            *("--allow-ip", "10.0.0.1", "--name", name),
        ],
    )
    assert result.exit_code == 2, result.output
    assert where in result.output.lower()
    assert "SBER" not in runner.invoke(app, ["agent", "list"]).output
