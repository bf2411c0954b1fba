"""``abonent agency …``: collection agencies (коллекторские агентства)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import cast

import typer

from abonent.cli import inputs
from abonent.cli.common import cli_actor, console, run_async
from abonent.collections import agents, export, service
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.money import format_money, format_plain
from abonent.models import CollectionAgency

app = typer.Typer(no_args_is_help=True, help="Collection agencies.")


def _describe(agency: CollectionAgency) -> str:
    rate = f"{agency.commission_bp // 100},{agency.commission_bp % 100:02d} %"
    return (
        f"{agency.id}: {agency.name}, ИНН {agency.inn}; export {agency.export_format}; "
        f"commission {rate}; {agency.contacts or 'no contacts'}"
    )


@app.command("add")
def add(
    name: str = typer.Argument(..., callback=inputs.text(200)),
    inn: str = typer.Option(..., "--inn", help="10 or 12 digits; the check digits are checked."),
    contacts: str = typer.Option("", "--contacts", callback=inputs.text(500)),
    export_format: str = typer.Option("csv", "--format", help="csv or xlsx."),
    commission_bp: int = typer.Option(0, "--commission-bp", help="Basis points (1500 = 15 %)."),
) -> None:
    """Register an agency."""

    async def main(db: Database) -> str:
        async with db.session(write=True) as session:
            agency = await service.add_agency(
                session,
                name=name,
                inn=inn,
                contacts=contacts,
                export_format=export_format,
                commission_bp=commission_bp,
                actor=cli_actor(),
            )
            return _describe(agency)

    console.print(f"agency added: {run_async(main)}", highlight=False)


@app.command("list")
def list_all() -> None:
    """Every agency."""

    async def main(db: Database) -> list[str]:
        async with db.session() as session:
            return [_describe(a) for a in await service.list_agencies(session, cli_actor())]

    lines = run_async(main)
    console.print("\n".join(lines) if lines else "no agencies", highlight=False)


@app.command("show")
def show(agency_id: int = typer.Argument(...)) -> None:
    """One agency."""

    async def main(db: Database) -> str:
        async with db.session() as session:
            return _describe(await service.get_agency(session, agency_id, cli_actor()))

    console.print(run_async(main), highlight=False)


@app.command("link-agent")
def link_agent(
    agency_id: int = typer.Argument(..., help="The agency's id."),
    agent_code: str = typer.Argument(..., help="A payment agent (abonent agent create …)."),
) -> None:
    """Make a payment agent the agency's own: its registry brings what the agency collected."""

    async def main(db: Database) -> str:
        async with db.session(write=True) as session:
            agency = await agents.link_agent(session, agency_id, agent_code, actor=cli_actor())
            return _describe(agency)

    console.print(
        f"agent {agent_code} is now of kind collection for {run_async(main)}", highlight=False
    )


@app.command("export")
def export_portfolio(
    agency_id: int = typer.Argument(..., help="The agency's id."),
    out_dir: Path = typer.Option(Path("."), "--out-dir", help="Where the file is written."),
) -> None:
    """The agency's portfolio as its file (CSV or XLSX, as set on the agency): every debt with
    it now, each item with its debt at hand-over."""
    if not out_dir.is_dir():
        raise typer.BadParameter(f"{out_dir}: not an existing directory")

    async def main(db: Database) -> export.Portfolio:
        async with db.session() as session:
            return await export.export_portfolio(
                session, agency_id, actor=cli_actor(), as_of=clock.today()
            )

    portfolio = run_async(main)
    target = out_dir / portfolio.file.name
    if target.exists():
        # Today's file is already there: a second export would overwrite what may have been
        # sent; say so rather than replace it.
        raise typer.BadParameter(f"{target}: exists; move it away or choose another --out-dir")
    target.write_bytes(portfolio.file.content)
    console.print(
        f"{target}: {portfolio.assignments} assignments, {portfolio.items} items, "
        f"{format_money(portfolio.amount_minor)} at hand-over",
        highlight=False,
    )


@app.command("commission")
def commission(
    agency_id: int = typer.Argument(..., help="The agency's id."),
    start: str = typer.Option(..., "--from", callback=inputs.day, help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", callback=inputs.day, help="Last day (inclusive)."),
    csv_path: Path | None = typer.Option(None, "--csv", help="Also write the lines as CSV."),
) -> None:
    """What the agency collected in the period and its commission (reported, never posted)."""
    if csv_path is not None and (csv_path.is_dir() or not csv_path.parent.is_dir()):
        raise typer.BadParameter(f"{csv_path}: not a file in an existing directory")

    async def main(db: Database) -> agents.CommissionReport:
        async with db.session() as session:
            return await agents.commission_report(
                session,
                agency_id,
                cast(dt.date, start),
                cast(dt.date, end),
                actor=cli_actor(),
            )

    report = run_async(main)
    rate = f"{report.agency.commission_bp // 100},{report.agency.commission_bp % 100:02d} %"
    console.print(
        f"{report.agency.name} (ИНН {report.agency.inn}), {report.start:%d.%m.%Y}–"
        f"{report.end:%d.%m.%Y}: collected {format_money(report.collected_minor)} in "
        f"{sum(1 for x in report.lines if x.in_portfolio)} payments; commission {rate} = "
        f"{format_money(report.commission_minor)}; outside its portfolio "
        f"{format_money(report.outside_minor)} (no commission)",
        highlight=False,
    )
    if csv_path is not None:
        with csv_path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, delimiter=";")
            writer.writerow(["payment", "account", "date", "amount", "in_portfolio", "commission"])
            for x in report.lines:
                writer.writerow(
                    [
                        x.payment_id,
                        x.account_number,
                        f"{x.booked_on:%d.%m.%Y}",
                        format_plain(x.amount_minor),
                        "yes" if x.in_portfolio else "no",
                        format_plain(x.commission_minor),
                    ]
                )
        console.print(f"CSV: {csv_path}", highlight=False)
