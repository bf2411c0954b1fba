"""``abonent staff create|list|disable|reset-password|totp``: staff accounts.

``create`` and ``reset-password`` show the generated password and the TOTP enrolment once;
only an argon2 hash and the encrypted TOTP secret are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.table import Table

from abonent.cli import inputs
from abonent.cli.common import cli_actor, console, run_async, settings
from abonent.db.uow import Database
from abonent.kit.errors import Forbidden
from abonent.models import StaffUser
from abonent.staff import credentials
from abonent.staff import service as staff
from abonent.staff.roles import ROLES

app = typer.Typer(no_args_is_help=True, help="Staff accounts (password + TOTP sign-in).")


def _show(enrolment: staff.Enrolment) -> None:
    user = enrolment.user
    console.print(
        f"staff {user.id} {user.login!r} ({user.role}, {user.name}). Shown only now; hand over "
        "safely:",
        highlight=False,
        soft_wrap=True,
    )
    typer.echo(f"password: {enrolment.password}")
    if enrolment.totp_uri:
        typer.echo(f"TOTP enrolment (scan with an authenticator): {enrolment.totp_uri}")
        typer.echo(credentials.qr_terminal(enrolment.totp_uri))


@app.command("create")
def create(
    login: str = typer.Argument(..., help="The sign-in name, e.g. 'ivanova'."),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
    name: str = typer.Option(..., "--name", help="Full name.", callback=inputs.text(128)),
) -> None:
    """Create an employee: prints a generated password and the TOTP enrolment once."""
    actor = cli_actor()

    async def main(db: Database) -> staff.Enrolment:
        return await db.run(lambda s: staff.create(s, login, role=role, name=name, actor=actor))

    _show(run_async(main))


@app.command("list")
def list_staff() -> None:
    """Every employee: id, login, name, role, whether active."""

    async def main(db: Database) -> Sequence[StaffUser]:
        async with db.session() as session:
            return await staff.list_staff(session)

    users = run_async(main)
    if not users:
        console.print("no staff")
        return
    table = Table()
    for column in ("id", "login", "name", "role", "status", "created"):
        table.add_column(column)
    for user in users:
        table.add_row(
            str(user.id),
            user.login,
            user.name,
            user.role,
            "active" if user.active else "disabled",
            f"{user.created_at:%d.%m.%Y}",
        )
    console.print(table)


@app.command("disable")
def disable(login: str = typer.Argument(...)) -> None:
    """Disable an employee and end their sessions at once."""
    actor = cli_actor()

    async def main(db: Database) -> StaffUser:
        return await db.run(lambda s: staff.disable(s, login, actor=actor))

    user = run_async(main)
    console.print(f"staff {user.login!r} disabled; their sessions are over", highlight=False)


@app.command("reset-password")
def reset_password(
    login: str = typer.Argument(...),
    totp: bool = typer.Option(False, "--totp", help="Also enrol a new TOTP secret."),
) -> None:
    """A new generated password (and with --totp a new TOTP enrolment); sessions end."""
    actor = cli_actor()

    async def main(db: Database) -> staff.Enrolment:
        return await db.run(
            lambda s: staff.reset_password(s, login, actor=actor, reenrol_totp=totp)
        )

    _show(run_async(main))


@app.command("totp")
def totp_code(login: str = typer.Argument(...)) -> None:
    """Development only: the TOTP code an authenticator would show now for LOGIN."""
    if settings().env == "production":
        run_async(_refuse)

    async def main(db: Database) -> str:
        async with db.session() as session:
            return await staff.current_totp(session, login)

    typer.echo(run_async(main))


async def _refuse(_db: Database) -> None:
    raise Forbidden("`staff totp` exists in development only", code="staff.development_only")
