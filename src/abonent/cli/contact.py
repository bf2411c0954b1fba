"""``abonent contact …``: blocks on contacting a debtor and the gate's decision log."""

from __future__ import annotations

import datetime as dt

import typer

from abonent.accounts import service as accounts
from abonent.cli.common import cli_actor, console, run_async
from abonent.contact import service as contact
from abonent.db.uow import Database
from abonent.models import ContactBlock, ContactLogEntry
from abonent.models.notices import BLOCK_KINDS

app = typer.Typer(no_args_is_help=True, help="The contact gate: blocks and the decision log.")


def _when(value: dt.datetime | None) -> str:
    return f"{value:%d.%m.%Y %H:%M} UTC" if value is not None else "—"


@app.command("block")
def block(
    customer: int = typer.Argument(..., help="The customer's id."),
    kind: str = typer.Option(..., "--kind", help=" | ".join(BLOCK_KINDS)),
    reason: str = typer.Option(..., "--reason"),
    until: str = typer.Option("", "--until", help="ISO date-time the block ends (UTC)."),
) -> None:
    """No debt contact with the customer while the block holds."""
    ends: dt.datetime | None = None
    if until:
        try:
            ends = dt.datetime.fromisoformat(until)
        except ValueError:
            raise typer.BadParameter("--until: an ISO date-time, e.g. 2027-01-31T00:00") from None
        ends = ends if ends.tzinfo else ends.replace(tzinfo=dt.UTC)

    async def main(db: Database) -> ContactBlock:
        async with db.session(write=True) as session:
            return await contact.set_block(
                session, customer, kind=kind, reason=reason, actor=cli_actor(), until_at=ends
            )

    done = run_async(main)
    console.print(f"block {done.id} set on customer {customer} ({done.kind})", highlight=False)


@app.command("unblock")
def unblock(block_id: int = typer.Argument(..., help="The block's id.")) -> None:
    """Lift a block; the notices it held go back to the gate."""

    async def main(db: Database) -> ContactBlock:
        async with db.session(write=True) as session:
            return await contact.lift_block(session, block_id, actor=cli_actor())

    done = run_async(main)
    console.print(f"block {done.id} lifted", highlight=False)


@app.command("blocks")
def blocks(customer: int = typer.Argument(..., help="The customer's id.")) -> None:
    """The customer's blocks, lifted ones included."""

    async def main(db: Database) -> list[ContactBlock]:
        async with db.session() as session:
            return await contact.blocks_of(session, customer, actor=cli_actor())

    rows = run_async(main)
    if not rows:
        console.print("no blocks", highlight=False)
    for b in rows:
        state = f"lifted {_when(b.lifted_at)} by {b.lifted_by}" if b.lifted_at else "holds"
        console.print(
            f"{b.id}  {b.kind:<10}  from {_when(b.from_at)}  until {_when(b.until_at)}  "
            f"{state}  — {b.reason}",
            highlight=False,
            markup=False,
        )


@app.command("log")
def log(
    account: str = typer.Option("", "--account", help="Only this account's decisions."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
) -> None:
    """The gate's decisions, newest first: sent, deferred (until when) or blocked, and why."""

    async def main(db: Database) -> list[ContactLogEntry]:
        async with db.session() as session:
            account_id = None
            if account:
                account_id = (await accounts.get_account(session, account)).id
            return await contact.contact_log(
                session, actor=cli_actor(), account_id=account_id, limit=limit
            )

    rows = run_async(main)
    if not rows:
        console.print("no decisions", highlight=False)
    for e in rows:
        nxt = f" → {_when(e.next_at)}" if e.next_at else ""
        console.print(
            f"{_when(e.at)}  {e.verdict:<9} {e.reason:<12} {e.kind:<21} customer {e.customer_id} "
            f"account {e.account_id or '—'} {e.channel} ({e.zone}){nxt}",
            highlight=False,
        )
