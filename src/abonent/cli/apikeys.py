"""``abonent apikey create|list|revoke``: keys for staff tools and integrations.

Only a hash of each key is stored: ``create`` shows the key once, as its last line of output,
so that a script can take it with ``| tail -n 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.table import Table

from abonent.apikeys import service as apikeys
from abonent.cli import inputs
from abonent.cli.common import cli_actor, console, run_async
from abonent.db.uow import Database
from abonent.models import ApiKey
from abonent.models.ops import ROLES

app = typer.Typer(no_args_is_help=True, help="API keys for staff and integrations.")


@app.command("create")
def create(
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
    name: str = typer.Option(
        ...,
        "--name",
        help="Who or what uses the key, e.g. 'ops-console'.",
        callback=inputs.text(128),
    ),
) -> None:
    """Create a key. It is printed once, as the last line; only its hash is kept."""
    actor = cli_actor()

    async def main(db: Database) -> tuple[ApiKey, str]:
        return await db.run(lambda s: apikeys.create(s, name=name, role=role, actor=actor))

    key, plain = run_async(main)
    console.print(
        f"API key {key.id} ({key.role}, {key.name!r}) created. It is shown only now; "
        "store it safely:",
        highlight=False,
        soft_wrap=True,
    )
    # Plain output, never wrapped or styled: the key must survive copy and paste and `tail -n 1`.
    typer.echo(plain)


@app.command("list")
def list_keys() -> None:
    """Every key: id, name, role, prefix, whether it is active."""

    async def main(db: Database) -> Sequence[ApiKey]:
        async with db.session() as session:
            return await apikeys.list_keys(session)

    keys = run_async(main)
    if not keys:
        console.print("no API keys")
        return
    table = Table(show_lines=False)
    for column in ("id", "name", "role", "prefix", "status", "created", "revoked"):
        table.add_column(column, no_wrap=column in ("id", "prefix", "status"))
    for key in keys:
        table.add_row(
            str(key.id),
            key.name,
            key.role,
            key.prefix + "…",
            "active" if key.active else "revoked",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
        )
    console.print(table)


@app.command("revoke")
def revoke(
    key_id: int = typer.Argument(..., help="The id shown by `abonent apikey list`."),
) -> None:
    """Revoke a key: running servers refuse it within a few seconds (their key cache)."""
    actor = cli_actor()

    async def main(db: Database) -> ApiKey:
        return await db.run(lambda s: apikeys.revoke(s, key_id, actor=actor))

    key = run_async(main)
    console.print(f"API key {key.id} ({key.name!r}) revoked", highlight=False)
