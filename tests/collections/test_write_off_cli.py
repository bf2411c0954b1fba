"""``abonent collections write-offs list|approve|reject`` against a real database: the CLI runs as
the operator, and a decision names the supervisor whose it is (``--as``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.models import AuditEvent
from abonent.staff import service as staff
from tests.collections.write_off_helpers import Proposal, ladder_proposals, snapshot
from tests.staff.helpers import Employee, make_staff

T = TypeVar("T")
TODAY = dt.date(2026, 11, 18)
runner = CliRunner()


def said(text: str) -> str:
    return " ".join(text.split())


def on_db(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    async def go() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def setup(url: str) -> tuple[list[Proposal], dict[str, Employee]]:
    async def work(db: Database) -> tuple[list[Proposal], dict[str, Employee]]:
        proposals = await ladder_proposals(db, TODAY)
        people = {
            role: await make_staff(db, role, login)
            for role, login in [
                ("supervisor", "boss"),
                ("collections", "olga"),
                ("admin", "root"),
                ("hotline", "ivan"),
            ]
        }
        gone = await make_staff(db, "supervisor", "gone")
        await db.run(lambda s: staff.disable(s, "gone", actor=Actor("test", "admin")))
        people["disabled"] = gone
        return proposals, people

    return on_db(url, work)


def state(url: str) -> dict[str, Any]:
    return on_db(url, snapshot)


def test_list_reject_and_approve_as_a_named_supervisor(env_db: str, clock: FrozenClock) -> None:
    (first, second), people = setup(env_db)
    listed = runner.invoke(app, ["collections", "write-offs", "list", "--status", "pending"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert said(lines[0]) == (
        f"write-off {first.request_id}: pending, account {first.number}, requested 450,00 ₽ by "
        "system:dunning on 18.11.2026 15:00; debt now 450,00 ₽; reason: Предложено лестницей "
        "взыскания: долг не погашен"
    )
    assert said(lines[1]).startswith("charge ")
    assert said(lines[1]).endswith("mobile 300,00 ₽, covered 300,00 ₽")
    assert sum(1 for line in lines if line.startswith("write-off ")) == 2

    rejected = runner.invoke(
        app,
        [
            "collections",
            "write-offs",
            "reject",
            str(first.request_id),
            "--reason",
            "Рассрочка до марта [/b] [red]",
            "--as",
            "boss",
        ],
    )
    assert rejected.exit_code == 0, rejected.output
    boss = f"staff:{people['supervisor'].staff_id}:boss"
    assert said(rejected.output).startswith(f"write-off {first.request_id}: rejected,")
    # Printed as typed: a reason is never read as terminal markup.
    assert f"rejected by {boss} on 18.11.2026 15:00: Рассрочка до марта [/b] [red]" in said(
        rejected.output
    )

    approved = runner.invoke(
        app, ["collections", "write-offs", "approve", str(second.request_id), "--as", "boss"]
    )
    assert approved.exit_code == 0, approved.output
    text = said(approved.output)
    assert text.startswith(f"write-off {second.request_id}: approved, account {second.number}")
    assert "debt now 0,00 ₽" in text
    assert f"approved by {boss} on 18.11.2026 15:00: 800,00 ₽ written off (entry " in text

    async def trail(db: Database) -> list[tuple[str, str, str | None, str]]:
        async with db.session() as s:
            rows = await s.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.action.in_(
                        ["staff.acted_as", "write_off.reject", "write_off.approve"]
                    )
                )
                .order_by(AuditEvent.id)
            )
            return [(e.action, e.actor, e.role, e.object_id) for e in rows]

    operator = f"cli:{getpass.getuser()}"
    staff_id = str(people["supervisor"].staff_id)
    assert on_db(env_db, trail) == [
        ("staff.acted_as", operator, "admin", staff_id),
        ("write_off.reject", boss, "supervisor", str(first.request_id)),
        ("staff.acted_as", operator, "admin", staff_id),
        ("write_off.approve", boss, "supervisor", str(second.request_id)),
    ]
    assert "pending" not in runner.invoke(app, ["collections", "write-offs", "list"]).output
    empty = runner.invoke(app, ["collections", "write-offs", "list", "--status", "pending"])
    assert said(empty.output) == "no write-off requests"


def test_every_refusal_exits_and_changes_nothing(env_db: str, clock: FrozenClock) -> None:
    (first, second), _people = setup(env_db)
    before = state(env_db)
    rid = str(first.request_id)
    cases: list[tuple[list[str], int, str]] = [
        (["approve", rid], 2, "--as"),
        (["approve", rid, "--as", "olga"], 1, "collections_role_refused"),
        (["approve", rid, "--as", "root"], 1, "collections_role_refused"),
        (["approve", rid, "--as", "ivan"], 1, "collections_role_refused"),
        (["approve", rid, "--as", "nobody"], 1, "staff.not_found"),
        (["approve", rid, "--as", "gone"], 1, "staff.disabled"),
        (["approve", "999999", "--as", "boss"], 1, "write_off_not_found"),
        (["approve", "0", "--as", "boss"], 2, ""),
        (["reject", rid, "--as", "boss"], 2, "--reason"),
        (["reject", rid, "--reason", "нет", "--as", "olga"], 1, "collections_role_refused"),
        (["reject", rid, "--reason", "нет", "--as", "root"], 1, "collections_role_refused"),
        (["reject", "999999", "--reason", "нет", "--as", "boss"], 1, "write_off_not_found"),
        (["reject", rid, "--reason", "", "--as", "boss"], 1, "write_off_reason_invalid"),
        (["reject", rid, "--reason", "   ", "--as", "boss"], 1, "write_off_reason_invalid"),
        (["reject", rid, "--reason", "x" * 501, "--as", "boss"], 2, "at most 500"),
        (["reject", rid, "--reason", "нет\x1b[2J", "--as", "boss"], 2, "control character"),
        (["list", "--status", "bogus"], 1, "write_off_status_invalid"),
    ]
    for args, code, words in cases:
        result = runner.invoke(app, ["collections", "write-offs", *args])
        assert result.exit_code == code, (args, result.output)
        assert words in said(result.output), (args, result.output)
    assert state(env_db) == before

    done = runner.invoke(
        app, ["collections", "write-offs", "reject", rid, "--reason", "нет", "--as", "boss"]
    )
    assert done.exit_code == 0, done.output
    decided = state(env_db)
    for args in (
        ["approve", rid, "--as", "boss"],
        ["reject", rid, "--reason", "ещё раз", "--as", "boss"],
    ):
        result = runner.invoke(app, ["collections", "write-offs", *args])
        assert result.exit_code == 1 and "write_off_decided" in said(result.output), result.output
    assert state(env_db) == decided
    assert second.request_id not in [r[0] for r in decided["requests"] if r[1] != "requested"]
