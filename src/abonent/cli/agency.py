"""``abonent agency …``: collection agencies (коллекторские агентства)."""

from __future__ import annotations

import typer

from abonent.cli import inputs
from abonent.cli.common import cli_actor, console, run_async
from abonent.collections import service
from abonent.db.uow import Database
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
