"""``abonent fees run --period YYYY-MM``: the monthly tariff fees of a period, once per service."""

from __future__ import annotations

import typer

from abonent.charges.fees import DEFAULT_BATCH_SIZE, run_fees
from abonent.charges.schemas import FeeRunResult
from abonent.cli.charges import progress_bar, run_refusing, say
from abonent.cli.common import cli_actor
from abonent.db.uow import Database
from abonent.kit.money import format_money

app = typer.Typer(no_args_is_help=True, help="Monthly tariff fees.")


@app.command("run")
def run_command(
    period: str = typer.Option(..., "--period", help="The billing month, YYYY-MM."),
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, "--batch-size", help="Services per unit of work."
    ),
) -> None:
    """Post the monthly fee of every service with a paid tariff active during the period.

    Safe to run again: a fee already posted for a service and period is left alone, and services
    activated since the last run are picked up.
    """
    actor = cli_actor()
    with progress_bar() as report:

        async def main(db: Database) -> FeeRunResult:
            return await run_fees(db, period, actor=actor, batch_size=batch_size, progress=report)

        result = run_refusing(main)
    say(
        f"fees for {result.period}: {result.services} services with a paid tariff; "
        f"posted {result.posted} ({format_money(result.total_minor)}), "
        f"already there {result.already_there}"
    )
    if result.partial:
        say(f"{result.partial} of them are for part of the month (activated or closed in it)")
    if result.allocated_minor:
        say(f"prepaid money cleared {format_money(result.allocated_minor)} at once")
