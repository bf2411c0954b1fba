"""``abonent notices …`` and ``abonent contact …`` as an operator uses them (both databases).

A notice typed at night is deferred to the morning and the release sends it; one whose debt was
paid meanwhile is cancelled; the reports list counts what subscribers reported, printed as they
typed it. Every refusal is one line, exit 1 (a malformed option: typer's usage error, exit 2),
and leaves the database as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.kit.numbers import luhn_check_digit
from abonent.models import Account, ContactMessage, DebtNotice
from abonent.notices import service as notices
from tests.api.helpers import Snapshot, snapshot
from tests.factories import pay
from tests.notices.helpers import at, debtor

runner = CliRunner()
UNKNOWN = "12345678901" + luhn_check_digit("12345678901")


def said(text: str) -> str:
    return " ".join(text.split())


def _in(url: str, work: Callable[[Database], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def _rows(url: str) -> Snapshot:
    return _in(url, snapshot)  # type: ignore[no-any-return]


def _refused(args: list[str], url: str, line: str, code: int = 1) -> None:
    before = _rows(url)
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert said(result.stderr) == line
    assert result.stdout == ""
    assert _rows(url) == before


async def _statuses(db: Database) -> list[tuple[str, str]]:
    async with db.session() as s:
        rows = await s.execute(
            select(DebtNotice.step, ContactMessage.status)
            .join(ContactMessage, ContactMessage.id == DebtNotice.contact_message_id)
            .order_by(DebtNotice.id)
        )
        return [(step, status) for step, status in rows]


def test_a_notice_at_night_waits_for_the_morning_release(env_db: str, clock: FrozenClock) -> None:
    account = _in(env_db, debtor)  # 1 050,00 ₽ due 10.10.2026, lives in Moscow
    clock.at = at(2026, 11, 18, 20)  # 23:00 in Moscow: quiet hours

    sent = runner.invoke(app, ["notices", "send", account.number])
    assert sent.exit_code == 0, sent.output
    assert said(sent.stdout) == (
        "notice 1 (manual-2026-11-18): 1 050,00 ₽; deferred (quiet_hours) until "
        "19.11.2026 05:00 UTC"
    )
    assert _in(env_db, _statuses) == [("manual-2026-11-18", "pending")]

    # Still night: nothing is due, nothing changes.
    before = _rows(env_db)
    early = runner.invoke(app, ["notices", "release"])
    assert early.exit_code == 0, early.output
    assert said(early.stdout) == (
        "sent 0, deferred again 0, blocked 0, cancelled 0; hand-over notices with a delivery "
        "outcome 0"
    )
    assert _rows(env_db) == before

    clock.at = at(2026, 11, 19, 6)  # 09:00 in Moscow
    morning = runner.invoke(app, ["notices", "release"])
    assert morning.exit_code == 0, morning.output
    assert said(morning.stdout).startswith("sent 1, deferred again 0, blocked 0, cancelled 0;")
    assert _in(env_db, _statuses) == [("manual-2026-11-18", "sent")]

    # The same step again is the same notice, not a second SMS.
    again = runner.invoke(app, ["notices", "send", account.number, "--step", "manual-2026-11-18"])
    assert again.exit_code == 0, again.output
    assert said(again.stdout) == "notice 1 (manual-2026-11-18): 1 050,00 ₽; already asked: sent"
    assert _in(env_db, _statuses) == [("manual-2026-11-18", "sent")]


def test_a_deferred_notice_whose_debt_was_paid_is_cancelled(
    env_db: str, clock: FrozenClock
) -> None:
    account = _in(env_db, debtor)
    clock.at = at(2026, 11, 18, 20)
    first = runner.invoke(app, ["notices", "send", account.number, "--step", "first"])
    assert first.exit_code == 0 and "deferred (quiet_hours)" in said(first.stdout)

    async def paid(db: Database) -> None:
        async with db.session(write=True) as s:
            await pay(s, await s.get_one(Account, account.id), 105_000)

    _in(env_db, paid)
    clock.at = at(2026, 11, 19, 6)
    done = runner.invoke(app, ["notices", "send", account.number, "--step", "first"])
    assert done.exit_code == 0, done.output
    assert said(done.stdout) == "notice 1 (first): 1 050,00 ₽; cancelled: nothing owed"
    assert _in(env_db, _statuses) == [("first", "cancelled")]
    # A new step for an account that owes nothing is refused outright.
    _refused(
        ["notices", "send", account.number, "--step", "second"],
        env_db,
        f"error [notice_nothing_owed]: account {account.number} owes nothing: no notice",
    )


def test_notice_refusals_change_nothing(env_db: str, clock: FrozenClock) -> None:
    account = _in(env_db, debtor)
    _refused(
        ["notices", "send", UNKNOWN],
        env_db,
        f"error [account_not_found]: no account {UNKNOWN}",
    )
    _refused(
        ["notices", "send", "123"],
        env_db,
        "error [account_number_format]: account number must be 12 digits",
    )
    _refused(
        ["notices", "send", account.number, "--step", "   "],
        env_db,
        "error [notice_step]: a notice needs a step name",
    )


def test_reports_count_by_sender_and_text_printed_as_typed(env_db: str, clock: FrozenClock) -> None:
    empty = runner.invoke(app, ["notices", "reports"])
    assert empty.exit_code == 0, empty.output
    assert empty.stdout.splitlines() == ["0 reports", "by sender:", "by text:"]

    long_text = "Ваш счёт заблокирован, перейдите по ссылке " + "x" * 200
    reported = [
        ("Abon-Help", "[bold]Оплатите долг[/bold] по ссылке"),
        ("Abon-Help", "[bold]Оплатите долг[/bold] по ссылке"),
        ("+79990001122", long_text),
    ]

    async def report(db: Database) -> None:
        for n, (sender, text) in enumerate(reported):
            async with db.session(write=True) as s:
                await notices.report(
                    s, sender=sender, text=text, channel="hotline", client_key=f"test-{n}"
                )

    _in(env_db, report)
    before = _rows(env_db)
    listed = runner.invoke(app, ["notices", "reports"])
    assert listed.exit_code == 0, listed.output
    out = said(listed.stdout)
    assert out.startswith("3 reports by sender: ")
    by_sender, by_text = out.removeprefix("3 reports by sender: ").split(" by text: ")
    assert by_sender in ("2 Abon-Help 1 +79990001122", "1 +79990001122 2 Abon-Help")
    # Markup in a report is the subscriber's text, not formatting; a long one is cut at 100.
    shown = said(long_text[:100])
    assert by_text in (
        f"2 [bold]Оплатите долг[/bold] по ссылке 1 {shown}",
        f"1 {shown} 2 [bold]Оплатите долг[/bold] по ссылке",
    )
    assert _rows(env_db) == before  # reading the reports writes nothing


def test_contact_blocks_and_log_when_there_are_none(env_db: str, clock: FrozenClock) -> None:
    account = _in(env_db, debtor)
    none = runner.invoke(app, ["contact", "blocks", str(account.customer_id)])
    assert none.exit_code == 0 and said(none.stdout) == "no blocks"
    quiet = runner.invoke(app, ["contact", "log", "--account", account.number])
    assert quiet.exit_code == 0 and said(quiet.stdout) == "no decisions"


def test_a_block_until_a_date_is_listed_with_it(env_db: str, clock: FrozenClock) -> None:
    account = _in(env_db, debtor)
    customer = str(account.customer_id)
    made = runner.invoke(
        app,
        [
            *("contact", "block", customer, "--kind", "court_ban"),
            *("--reason", "Запрет суда", "--until", "2026-12-31T09:30"),
        ],
    )
    assert made.exit_code == 0, made.output
    assert said(made.stdout) == f"block 1 set on customer {customer} (court_ban)"
    shown = runner.invoke(app, ["contact", "blocks", customer])
    assert shown.exit_code == 0, shown.output
    assert said(shown.stdout) == (
        "1 court_ban from 18.11.2026 12:00 UTC until 31.12.2026 09:30 UTC holds — Запрет суда"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["contact", "block", "999999", "--kind", "deceased", "--reason", "x"],
            "error [customer_not_found]: no customer 999999",
        ),
        (
            ["contact", "unblock", "999999"],
            "error [contact_block_not_found]: no contact block 999999",
        ),
        (["contact", "blocks", "999999"], "error [customer_not_found]: no customer 999999"),
        (
            ["contact", "log", "--account", UNKNOWN],
            f"error [account_not_found]: no account {UNKNOWN}",
        ),
    ],
    ids=["block-unknown-customer", "unblock-unknown", "blocks-unknown-customer", "log-unknown"],
)
def test_contact_refusals_change_nothing(
    env_db: str, clock: FrozenClock, args: list[str], line: str
) -> None:
    _in(env_db, debtor)
    _refused(args, env_db, line)


def test_a_block_until_no_date_is_a_usage_error(env_db: str, clock: FrozenClock) -> None:
    account = _in(env_db, debtor)
    before = _rows(env_db)
    result = runner.invoke(
        app,
        [
            *("contact", "block", str(account.customer_id), "--kind", "deceased"),
            *("--reason", "x", "--until", "31.12.2026"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "--until: an ISO date-time, e.g. 2027-01-31T00:00" in said(result.stderr)
    assert _rows(env_db) == before
