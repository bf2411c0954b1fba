"""``abonent agent …``: the payment agents allowed to call the OSMP protocol."""

from __future__ import annotations

import typer
from rich.table import Table

from abonent.cli import inputs
from abonent.cli.common import cli_actor, console, run_async
from abonent.db.uow import Database
from abonent.kit.money import format_plain, parse_amount
from abonent.models import PaymentAgent
from abonent.payments.agents import service

app = typer.Typer(no_args_is_help=True, help="Payment agents (OSMP).")


def _describe(agent: PaymentAgent) -> str:
    return (
        f"{agent.code}: networks {', '.join(agent.allowed_ips)}; "
        f"sums {format_plain(agent.min_sum_minor)}–{format_plain(agent.max_sum_minor)}; "
        f"disclosure {agent.disclosure}; {'active' if agent.active else 'disabled'}"
    )


@app.command("create")
def create(
    code: str = typer.Argument(
        ...,
        help="The agent's code: its login and the URL /agents/osmp/CODE.",
        callback=inputs.text(32),
    ),
    password: str = typer.Option(
        ..., "--password", prompt=True, hide_input=True, help="At least 8 characters."
    ),
    allow_ip: list[str] = typer.Option(
        ..., "--allow-ip", help="An address or CIDR network the agent calls from (repeatable)."
    ),
    min_sum: str = typer.Option("1.00", "--min-sum", help="Smallest payment, roubles."),
    max_sum: str = typer.Option("15000.00", "--max-sum", help="Largest payment, roubles."),
    disclose: str = typer.Option(
        "none", "--disclose", help="What check reveals: none, or masked (masked name and debt)."
    ),
    name: str = typer.Option(
        "", "--name", help="A human name (default: the code).", callback=inputs.text(255)
    ),
) -> None:
    """Register a payment agent."""

    async def main(db: Database) -> str:
        min_minor = parse_amount(min_sum, field="--min-sum")
        max_minor = parse_amount(max_sum, field="--max-sum")
        async with db.session(write=True) as session:
            agent = await service.create_agent(
                session,
                code=code,
                password=password,
                allowed_ips=allow_ip,
                actor=cli_actor(),
                min_sum_minor=min_minor,
                max_sum_minor=max_minor,
                disclosure=disclose,
                name=name,
            )
            return _describe(agent)

    console.print(f"agent created: {run_async(main)}", highlight=False)


@app.command("list")
def list_agents() -> None:
    """Every agent, with its networks, limits and state."""

    async def main(db: Database) -> list[PaymentAgent]:
        async with db.session() as session:
            return list(await service.list_agents(session))

    agents = run_async(main)
    if not agents:
        console.print("no agents")
        return
    table = Table(title="Payment agents")
    for column in ("code", "name", "kind", "state", "networks", "min", "max", "disclosure"):
        table.add_column(column)
    for agent in agents:
        table.add_row(
            agent.code,
            agent.name,
            agent.kind,
            "active" if agent.active else "disabled",
            ", ".join(agent.allowed_ips),
            format_plain(agent.min_sum_minor),
            format_plain(agent.max_sum_minor),
            agent.disclosure,
        )
    console.print(table)


@app.command("disable")
def disable(code: str = typer.Argument(...)) -> None:
    """Refuse every further call from the agent (403, result 8). Booked payments stay."""

    async def main(db: Database) -> str:
        async with db.session(write=True) as session:
            return _describe(await service.disable_agent(session, code, actor=cli_actor()))

    console.print(f"agent disabled: {run_async(main)}", highlight=False)


@app.command("enable")
def enable(code: str = typer.Argument(...)) -> None:
    """Accept calls from a disabled agent again."""

    async def main(db: Database) -> str:
        async with db.session(write=True) as session:
            return _describe(await service.enable_agent(session, code, actor=cli_actor()))

    console.print(f"agent enabled: {run_async(main)}", highlight=False)


@app.command("set-password")
def set_password(
    code: str = typer.Argument(...),
    password: str = typer.Option(
        ..., "--password", prompt=True, hide_input=True, help="At least 8 characters."
    ),
) -> None:
    """Replace the agent's password; the old one stops working at once."""

    async def main(db: Database) -> str:
        async with db.session(write=True) as session:
            return _describe(await service.set_password(session, code, password, actor=cli_actor()))

    console.print(f"password changed: {run_async(main)}", highlight=False)
