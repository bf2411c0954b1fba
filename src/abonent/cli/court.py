"""``abonent court …``: the court-order package for a debt past the agency stage, and its stages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import cast

import typer

from abonent.accounts import service as accounts
from abonent.cli import inputs
from abonent.cli.common import cli_actor, console, run_async
from abonent.court import package, service
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.money import format_money
from abonent.models import CourtCase

app = typer.Typer(no_args_is_help=True, help="Court orders (судебный приказ) for unpaid debt.")


def _out(value: Path | None) -> Path | None:
    if value is not None and (value.is_dir() or not value.parent.is_dir()):
        raise typer.BadParameter(f"{value}: not a file in an existing directory")
    return value


def _describe(case: CourtCase) -> str:
    return (
        f"case {case.id}: {service.STAGE_LABELS[case.stage]} ({case.stage}); claim "
        f"{format_money(case.claim_minor)}, state fee {format_money(case.fee_minor)}, "
        f"time-barred {format_money(case.time_barred_minor)}; as of {case.as_of:%d.%m.%Y}"
    )


@app.command("package")
def build_package(
    account: str = typer.Argument(..., help="The account number."),
    on: str | None = typer.Option(
        None, "--date", callback=inputs.day, help="Application date (today)."
    ),
    out: Path | None = typer.Option(None, "--out", callback=_out, help="Where to write the PDF."),
) -> None:
    """Build the court-order application for the account's debt; write the PDF draft."""

    async def main(db: Database) -> tuple[str, bytes]:
        actor = cli_actor()
        async with db.session(write=True) as session:
            found = await accounts.get_account(session, account)
            case = await service.build_package(
                session,
                found,
                actor=actor,
                as_of=on or clock.today(),  # type: ignore[arg-type]
            )
            return _describe(case), await package.render(session, case.id, actor=actor)

    line, pdf = run_async(main)
    target = out or Path(f"court-{account}.pdf")
    target.write_bytes(pdf)
    console.print(f"{line}\nPDF: {target}", highlight=False)


@app.command("pdf")
def reprint(
    case_id: int = typer.Argument(..., help="The case's id."),
    out: Path | None = typer.Option(None, "--out", callback=_out),
) -> None:
    """Print a case's application again, from the calculation kept when it was built."""

    async def main(db: Database) -> bytes:
        async with db.session(write=True) as session:
            return await package.render(session, case_id, actor=cli_actor())

    target = out or Path(f"court-case-{case_id}.pdf")
    target.write_bytes(run_async(main))
    console.print(f"PDF: {target}", highlight=False)


@app.command("stage")
def stage(
    case_id: int = typer.Argument(..., help="The case's id."),
    name: str = typer.Argument(
        ..., help="filed, order_issued, cancelled, enforced, refused or withdrawn."
    ),
    on: str | None = typer.Option(
        None, "--date", callback=inputs.day, help="When it happened (today)."
    ),
    note: str = typer.Option("", "--note", callback=inputs.text(500)),
) -> None:
    """Record what the court did with the application."""

    async def main(db: Database) -> str:
        async with db.session(write=True) as session:
            case = await service.record_stage(
                session,
                case_id,
                name,
                actor=cli_actor(),
                on=cast(dt.date | None, on) or clock.today(),
                note=note,
            )
            return _describe(case)

    console.print(run_async(main), highlight=False)


@app.command("show")
def show(case_id: int = typer.Argument(...)) -> None:
    """A case: its calculation and every stage recorded."""

    async def main(db: Database) -> list[str]:
        async with db.session() as session:
            shown = await service.view(session, case_id, actor=cli_actor())
        out = [_describe(shown.case)]
        for line in shown.lines:
            out.append(
                f"  {line.part:<11} {line.due_date:%d.%m.%Y} {line.service:<8} "
                f"{format_money(line.amount_minor):>14} paid {format_money(line.paid_minor):>14} "
                f"left {format_money(line.owed_minor):>14}"
            )
        for event in shown.stages:
            note = f": {event.note}" if event.note else ""
            out.append(f"  {event.on:%d.%m.%Y} {event.stage} by {event.actor}{note}")
        return out

    console.print("\n".join(run_async(main)), highlight=False)


@app.command("list")
def list_cases(
    stage_name: str | None = typer.Option(None, "--stage"),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
) -> None:
    """Court cases, newest first."""

    async def main(db: Database) -> list[str]:
        async with db.session() as session:
            found = await service.list_cases(
                session, actor=cli_actor(), stage=stage_name, limit=limit
            )
            return [_describe(c) for c in found]

    lines = run_async(main)
    console.print("\n".join(lines) if lines else "no court cases", highlight=False)
