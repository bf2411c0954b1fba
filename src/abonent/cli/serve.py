from __future__ import annotations

import os

import typer
import uvicorn

from abonent.cli.common import console, settings
from abonent.cli.failures import shown_url


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, help="Worker processes (PostgreSQL only; SQLite wants 1)."),
    with_worker: bool = typer.Option(
        False, "--with-worker", help="Also relay the outbox (SMS, events) in this process."
    ),
) -> None:
    """Serve the API (and web pages) with uvicorn."""
    if with_worker:
        os.environ["ABONENT_WORKER__EMBEDDED"] = "true"
    cfg = settings()
    console.print(f"Abonent on http://{host}:{port}  (database: {shown_url(cfg.database_url)})")
    uvicorn.run(
        "abonent.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # Logging is the app's (kit/logs.py, configured by create_app in each worker):
        # uvicorn's loggers propagate to its redacting handler.
        log_config=None,
        access_log=cfg.log.access,
        # On SIGTERM, requests in flight get this long to finish; then the lifespan lets the
        # embedded worker finish its send (app.py).
        timeout_graceful_shutdown=max(1, round(cfg.shutdown_grace_seconds)),
    )
