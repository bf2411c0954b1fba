"""``abonent collections …``: hand debt over to an agency and recall it."""

from __future__ import annotations

import datetime as dt

import typer

from abonent.accounts import service as accounts
from abonent.cli.common import cli_actor, console, run_async
from abonent.collections import service
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.money import format_money

app = typer.Typer(no_args_is_help=True, help="Debt collection: hand-over to agencies.")


@app.command("handover")
def handover(
    account: str = typer.Argument(..., help="The account number."),
    agency: int = typer.Option(..., "--agency", help="The agency's id (abonent agency list)."),
) -> None:
    """Hand the account's overdue debt to the agency; again, only what is new."""

    async def main(db: Database) -> str:
        async with db.session(write=True) as session:
            found = await accounts.get_account(session, account)
            done = await service.handover(
                session, found, agency, actor=cli_actor(), as_of=clock.today()
            )
            a = done.assignment
            verb = "handed over" if done.created else "already with the agency"
            return (
                f"assignment {a.id}: {verb}, {format_money(a.amount_minor)} in "
                f"{len(done.items)} items; notice due {a.notice_due_on:%d.%m.%Y}"
            )

    console.print(run_async(main), highlight=False)


@app.command("recall")
def recall(assignment: int = typer.Argument(...)) -> None:
    """Take an assignment's debt back from the agency."""

    async def main(db: Database) -> dt.date | None:
        async with db.session(write=True) as session:
            done = await service.recall(session, assignment, actor=cli_actor(), as_of=clock.today())
            return done.recalled_on

    day = run_async(main)
    console.print(f"assignment {assignment} recalled on {day:%d.%m.%Y}", highlight=False)
