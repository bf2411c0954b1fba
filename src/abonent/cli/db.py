from __future__ import annotations

import typer

from abonent.cli.common import console, settings
from abonent.db import migrate

app = typer.Typer(no_args_is_help=True, help="Database schema.")


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply the migrations (creates the SQLite file if needed)."""
    url = settings().database_url
    migrate.upgrade(url, revision)
    console.print(
        f"database at revision {migrate.head_revision() if revision == 'head' else revision}"
    )
