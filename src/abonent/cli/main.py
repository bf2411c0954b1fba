"""The ``abonent`` command."""

from __future__ import annotations

import sys
from typing import Any

import typer

from abonent.cli import (
    accounts,
    agency,
    agents,
    apikeys,
    charges,
    collections,
    contact,
    court,
    db,
    demo,
    dunning,
    fees,
    ledger,
    notices,
    payments,
    promised,
    registry,
    serve,
    sms,
    staff,
    ussd,
    worker,
)
from abonent.cli.common import fail
from abonent.cli.failures import main_url
from abonent.kit import logs


class Abonent(typer.Typer):
    """The command, with a last line of defence around every subcommand.

    Commands that go through ``run_async`` say their own failures; this catches the rest
    (``db upgrade``, ``serve``, settings that do not validate) the same way: one line, an exit
    code, no traceback.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except (Exception, KeyboardInterrupt) as exc:
            sys.exit(fail(exc, main_url()))


app = Abonent(
    name="abonent",
    no_args_is_help=True,
    help="Abonent: personal accounts, ledger and payments of a telecom operator.",
    pretty_exceptions_enable=False,
)


@app.callback()
def _start() -> None:
    # Every command, `abonent worker run` included, logs through the redacting chain.
    logs.configure()


app.add_typer(db.app, name="db")
app.add_typer(demo.app, name="demo", help="Demo data.")
app.add_typer(accounts.app, name="account", help="Accounts and their statements.")
app.add_typer(apikeys.app, name="apikey", help="API keys for staff and integrations.")
app.add_typer(ledger.app, name="ledger", help="The ledger.")
app.add_typer(charges.app, name="charges", help="Rated charges from the rating system.")
app.add_typer(fees.app, name="fees", help="Monthly tariff fees.")
app.add_typer(agents.app, name="agent", help="Payment agents (OSMP).")
app.add_typer(registry.app, name="registry", help="Payment agents' daily registries.")
app.add_typer(payments.app, name="payments", help="Payments and card settlement.")
app.add_typer(worker.app, name="worker", help="The outbox relay.")
app.add_typer(sms.app, name="sms", help="Outgoing SMS and their delivery status.")
app.add_typer(ussd.app, name="ussd", help="USSD transports.")
app.add_typer(promised.app, name="promised", help="The promised payment (обещанный платёж).")
app.add_typer(staff.app, name="staff", help="Staff accounts (password + TOTP sign-in).")
app.add_typer(agency.app, name="agency", help="Collection agencies.")
app.add_typer(collections.app, name="collections", help="Debt hand-over to agencies.")
app.add_typer(court.app, name="court", help="Court orders for unpaid debt.")
app.add_typer(notices.app, name="notices", help="Debt notices through the contact gate.")
app.add_typer(contact.app, name="contact", help="The contact gate: blocks and its log.")
app.add_typer(dunning.app, name="dunning", help="The dunning ladder and its nightly run.")
app.command()(serve.serve)

if __name__ == "__main__":
    app()
