from __future__ import annotations

import typer
from rich.table import Table

from abonent.cli.common import EXIT_FOUND_PROBLEMS, console, err_console, run_async
from abonent.db.uow import Database
from abonent.kit.money import format_money
from abonent.ledger.reconcile import Report, reconcile

app = typer.Typer(no_args_is_help=True, help="The ledger.")


@app.command("reconcile")
def reconcile_command() -> None:
    """Recompute every balance from the postings; exit 3 naming the accounts on any drift."""

    async def main(db: Database) -> Report:
        async with db.session() as session:
            return await reconcile(session)

    report = run_async(main)
    if report.clean:
        console.print(
            f"ledger reconciled: {report.accounts} accounts, {report.entries} entries, no drift"
        )
        return
    if report.unbalanced_entries:
        err_console.print(f"entries whose postings do not sum to zero: {report.unbalanced_entries}")
    if report.drifts:
        table = Table(title="Drift", show_lines=False)
        for column in ("account", "what", "stored", "from postings"):
            table.add_column(column)
        for d in report.drifts:
            table.add_row(
                d.account_number,
                d.what,
                format_money(d.stored_minor),
                format_money(d.computed_minor),
            )
        err_console.print(table)
    raise typer.Exit(EXIT_FOUND_PROBLEMS)
