"""``abonent payments``: settle card payments, purge Idempotency-Keys, drive the sandbox."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from abonent.cli.common import EXIT_FOUND_PROBLEMS, EXIT_REFUSED, console, err_console, run_async
from abonent.cli.common import settings as load_settings
from abonent.db.uow import Database
from abonent.payments import idempotency
from abonent.payments.acquiring import service as cards
from abonent.payments.acquiring.sandbox import SandboxProvider

app = typer.Typer(no_args_is_help=True, help="Payments and card settlement.")


@app.command()
def settle(
    older_than: Annotated[
        int,
        typer.Option(
            "--older-than",
            min=0,
            help="Minutes a pending card payment must have waited before it is queried.",
        ),
    ] = 15,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Ask the provider about unknown card payments and stale pending ones; book or fail them.

    Also purges expired Idempotency-Keys. Exit 3 when some could not be settled (the provider
    did not answer, or it reported another amount).
    """
    cfg = load_settings()

    async def main(db: Database) -> cards.SettleSummary:
        provider = cards.build_provider(db, cfg)
        return await cards.settle(db, provider, older_than=dt.timedelta(minutes=older_than))

    summary = run_async(main)
    if as_json:
        console.print_json(json.dumps(summary.as_dict()))
    else:
        table = Table(title="Card payment settlement", show_header=True)
        table.add_column("outcome")
        table.add_column("count", justify="right")
        for label, value in (
            ("examined", summary.examined),
            ("succeeded (booked)", summary.succeeded),
            ("failed", summary.failed),
            ("still unknown", summary.unknown),
            ("still pending", summary.pending),
            ("errors", summary.errors),
            ("expired Idempotency-Keys purged", summary.idempotency_keys_purged),
        ):
            table.add_row(label, str(value))
        console.print(table)
    if summary.errors:
        raise typer.Exit(EXIT_FOUND_PROBLEMS)


@app.command("purge-idempotency")
def purge_idempotency() -> None:
    """Delete Idempotency-Keys past their expiry (they are kept at least 24 hours)."""

    async def main(db: Database) -> int:
        async with db.session(write=True) as session:
            return await idempotency.purge_expired(session)

    purged = run_async(main)
    console.print(f"{purged} expired Idempotency-Keys deleted")


@app.command("sandbox-resolve")
def sandbox_resolve(
    ref: Annotated[str, typer.Argument(help="The sandbox payment reference (sbx_…).")],
    outcome: Annotated[
        str, typer.Option(help="succeeded or declined", show_default=True)
    ] = "succeeded",
) -> None:
    """Finish a sandbox payment left processing by «Таймаут», without a webhook (as if the
    notification were lost): ``abonent payments settle`` then learns the outcome."""
    cfg = load_settings()
    if cfg.acquiring.provider != "sandbox":
        err_console.print("error: the configured acquiring provider is not the sandbox")
        raise typer.Exit(EXIT_REFUSED)

    async def main(db: Database) -> str:
        provider = cards.build_provider(db, cfg)
        assert isinstance(provider, SandboxProvider)
        view = await provider.resolve(ref, outcome)
        return view.status

    status = run_async(main)
    console.print(f"sandbox payment {ref} is now {status}")
