"""``abonent notices …``: send a debt notice through the contact gate, release deferred ones,
check a notice, list suspicious-SMS reports."""

from __future__ import annotations

import typer

from abonent.accounts import service as accounts
from abonent.cli.common import cli_actor, console, run_async, settings
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.money import format_money
from abonent.notices import service as notices
from abonent.worker import notices_job

app = typer.Typer(no_args_is_help=True, help="Debt notices (through the contact gate).")


@app.command("send")
def send(
    account: str = typer.Argument(..., help="The account number."),
    step: str = typer.Option("", "--step", help="The notice's step (default manual-<date>)."),
) -> None:
    """Send the account's debt notice now, or defer it to the next allowed moment."""

    async def main(db: Database) -> str:
        async with db.session(write=True) as session:
            found = await accounts.get_account(session, account)
            name = step or f"manual-{clock.today():%Y-%m-%d}"
            done = await notices.send_debt_notice(session, found, name, clock.now())
            n, o = done.notice, done.outcome
            state = {
                "sent": "sent",
                "deferred": f"deferred ({o.reason}) until {o.at:%d.%m.%Y %H:%M} UTC"
                if o.at
                else "deferred",
                "blocked": f"blocked ({o.reason})",
                "cancelled": "cancelled: nothing owed",
                "unchanged": f"already asked: {o.message.status}",
            }[o.verdict]
            return f"notice {n.id} ({name}): {format_money(n.amount_minor)}; {state}"

    console.print(run_async(main), highlight=False)


@app.command("release")
def release() -> None:
    """Run the deferred notices that are due through the gate again (the worker does this)."""

    async def main(db: Database) -> tuple[notices_job.Released, int]:
        done = await notices_job.release_once(db, settings())
        return done, await notices_job.sync_handover_deliveries(db)

    done, deliveries = run_async(main)
    console.print(
        f"sent {done.sent}, deferred again {done.deferred}, blocked {done.blocked}, "
        f"cancelled {done.cancelled}; hand-over notices with a delivery outcome {deliveries}",
        highlight=False,
    )


@app.command("reports")
def reports() -> None:
    """Suspicious-SMS reports: counts by sender and by text."""

    async def main(db: Database) -> notices.ReportSummary:
        async with db.session() as session:
            return await notices.reports_summary(session, actor=cli_actor())

    summary = run_async(main)
    console.print(f"{summary.total} reports", highlight=False)
    console.print("by sender:", highlight=False)
    for value, n in summary.by_sender:
        console.print(f"  {n:>5}  {value}", highlight=False, markup=False)
    console.print("by text:", highlight=False)
    for value, n in summary.by_text:
        console.print(f"  {n:>5}  {value[:100]}", highlight=False, markup=False)
