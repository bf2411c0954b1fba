from __future__ import annotations

import asyncio
import signal

import typer

from abonent.channels.sms import outbound
from abonent.channels.sms.gateway import gateway_from
from abonent.channels.sms.smpp import SmppConfigurationError
from abonent.cli.common import console, run_async, settings
from abonent.cli.failures import InvalidSettings
from abonent.db.uow import Database
from abonent.worker import housekeeping, notices_job, promised_job, settlement
from abonent.worker.relay import Relay, RelayStats, default_handlers

app = typer.Typer(no_args_is_help=True, help="The outbox relay (SMS, events).")


@app.command("run")
def run(once: bool = typer.Option(False, "--once", help="Deliver what is due, then exit.")) -> None:
    """Relay queued side effects (SMS notices, events) and settle card payments until stopped.

    With --once: deliver what is due and exit (settlement then is `abonent payments settle`).
    """
    cfg = settings()

    async def main(db: Database) -> RelayStats | None:
        try:
            gateway = gateway_from(cfg, on_receipt=outbound.receipt_recorder(db))
        except SmppConfigurationError as exc:
            # The operator's to fix (exit 1), not a bug (exit 4); nothing was claimed yet.
            raise InvalidSettings(str(exc)) from None
        relay = Relay(db, cfg, default_handlers(cfg, gateway, db))
        if once:
            return await relay.drain()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        every = cfg.worker.settle_every_seconds
        settling = f"; card settlement every {every:g} s" if every > 0 else ""
        console.print(f"outbox relay running{settling}; Ctrl+C stops it")
        await asyncio.gather(
            relay.run_forever(stop),
            settlement.run_forever(db, cfg, stop),
            promised_job.run_forever(db, cfg, stop),
            notices_job.run_forever(db, cfg, stop),
            housekeeping.run_forever(db, stop),
        )
        return None

    stats = run_async(main)
    if stats is not None:
        console.print(f"delivered {stats.delivered}, will retry {stats.failed}, dead {stats.dead}")
