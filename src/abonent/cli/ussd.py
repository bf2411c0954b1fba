"""``abonent ussd smpp``: serve USSD dialogues bound to the USSD centre over SMPP 3.4."""

from __future__ import annotations

import asyncio
import signal

import typer

from abonent.channels.ussd.smpp import UssdSmppApp, engine_answer, link_settings
from abonent.cli.common import EXIT_REFUSED, console, report_error, run_async, settings
from abonent.cli.failures import InvalidSettings
from abonent.db.uow import Database

app = typer.Typer(no_args_is_help=True, help="USSD (*100#, *100*3#) transports.")


@app.command("smpp")
def smpp() -> None:
    """Bind to the USSD centre (ABONENT_USSD_SMPP__HOST/PORT/SYSTEM_ID/PASSWORD) until stopped."""
    cfg = settings()
    try:
        link_settings(cfg.ussd_smpp)
    except ValueError as exc:
        report_error(InvalidSettings(str(exc)))
        raise typer.Exit(EXIT_REFUSED) from None
    u = cfg.ussd_smpp

    async def main(db: Database) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        console.print(f"USSD over SMPP: binding to {u.host}:{u.port} as {u.system_id!r}")
        await UssdSmppApp(u, engine_answer(db, cfg)).serve(stop)

    run_async(main)
