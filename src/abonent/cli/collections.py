"""``abonent collections …``: hand debt over to an agency and recall it; list, approve and
reject write-off requests (``collections write-offs …``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import service as accounts
from abonent.cli import inputs
from abonent.cli.common import cli_actor, console, run_async, settings
from abonent.collections import service, write_offs
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.inputs import INT64_MAX
from abonent.kit.money import format_money
from abonent.staff import service as staff

app = typer.Typer(
    no_args_is_help=True, help="Debt collection: hand-over to agencies, write-off requests."
)


@app.command("handover")
def handover(
    account: str = typer.Argument(..., help="The account number."),
    agency: int = typer.Option(..., "--agency", help="The agency's id (abonent agency list)."),
) -> None:
    """Hand the account's overdue debt to the agency; again, only what is new."""

    async def main(db: Database) -> str:
        async with db.session(write=True) as session:
            found = await accounts.get_account(session, account)
            done = await service.handover(
                session, found, agency, actor=cli_actor(), as_of=clock.today()
            )
            a = done.assignment
            verb = "handed over" if done.created else "already with the agency"
            return (
                f"assignment {a.id}: {verb}, {format_money(a.amount_minor)} in "
                f"{len(done.items)} items; notice due {a.notice_due_on:%d.%m.%Y}"
            )

    console.print(run_async(main), highlight=False)


@app.command("recall")
def recall(assignment: int = typer.Argument(...)) -> None:
    """Take an assignment's debt back from the agency."""

    async def main(db: Database) -> dt.date | None:
        async with db.session(write=True) as session:
            done = await service.recall(session, assignment, actor=cli_actor(), as_of=clock.today())
            return done.recalled_on

    day = run_async(main)
    console.print(f"assignment {assignment} recalled on {day:%d.%m.%Y}", highlight=False)


# --- write-off requests ----------------------------------------------------------------------

write_offs_app = typer.Typer(
    no_args_is_help=True,
    help="Write-off requests: list them; a supervisor approves or rejects (--as LOGIN).",
)
app.add_typer(write_offs_app, name="write-offs")

_AS_HELP = (
    "The supervisor's staff login whose decision this is: the CLI runs as the system's "
    "operator, but only a supervisor decides a write-off (recorded as theirs, and that you "
    "named them)."
)


def _when(at: dt.datetime | None) -> str:
    return f"{at.astimezone(ZoneInfo(settings().timezone)):%d.%m.%Y %H:%M}" if at else "—"


def _describe_write_off(view: write_offs.WriteOffView) -> list[str]:
    r = view.request
    head = (
        f"write-off {r.id}: {view.status}, account {view.account_number}, requested "
        f"{format_money(r.amount_minor)} by {r.requested_by} on {_when(r.requested_at)}; "
        f"debt now {format_money(view.debt_minor)}; reason: {r.reason}"
    )
    lines = [head]
    if view.status == "rejected":
        lines.append(
            f"  rejected by {view.decided_by} on {_when(view.decided_at)}: {view.rejection_reason}"
        )
    elif view.status == "approved":
        lines.append(
            f"  approved by {view.decided_by} on {_when(view.decided_at)}: "
            f"{format_money(view.covered_minor)} written off (entry {r.entry_id})"
        )
    for item in view.items:
        lines.append(
            f"  charge {item.open_item_id} due {item.due_date:%d.%m.%Y} "
            f"{item.period or '':<7} {item.service_kind or 'account':<8} "
            f"{format_money(item.amount_minor):>14}, covered {format_money(item.covered_minor)}"
        )
    return lines


@write_offs_app.command("list")
def list_write_offs(
    status: str | None = typer.Option(
        None, "--status", help="pending, approved or rejected (all when left out)."
    ),
    limit: int = typer.Option(100, "--limit", min=1, max=write_offs.LIST_MAX),
) -> None:
    """Write-off requests, the nightly ladder's proposals among them; pending ones oldest first."""

    async def main(db: Database) -> list[str]:
        async with db.session() as session:
            found = await write_offs.list_write_offs(
                session, actor=cli_actor(), status=status, limit=limit
            )
            return [line for view in found for line in _describe_write_off(view)]

    lines = run_async(main)
    # One line per request or charge, never wrapped: a reader greps it, a script splits it.
    console.print(
        "\n".join(lines) if lines else "no write-off requests",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


@write_offs_app.command("approve")
def approve_write_off(
    request_id: int = typer.Argument(..., min=1, max=INT64_MAX, help="The request's id."),
    as_login: str = typer.Option(..., "--as", help=_AS_HELP, callback=inputs.text(64)),
) -> None:
    """Approve a write-off: its debt goes to the bad-debt ledger, once."""

    async def main(db: Database) -> list[str]:
        async def unit(session: AsyncSession) -> list[str]:
            who = await staff.act_as(
                session, as_login, operator=cli_actor(), purpose=f"write_off.approve {request_id}"
            )
            await service.approve_write_off(
                session, request_id, actor=who.actor(), as_of=clock.today()
            )
            view = await write_offs.get_write_off(session, request_id, actor=who.actor())
            return _describe_write_off(view)

        return await db.run(unit)

    console.print("\n".join(run_async(main)), highlight=False, soft_wrap=True, markup=False)


@write_offs_app.command("reject")
def reject_write_off(
    request_id: int = typer.Argument(..., min=1, max=INT64_MAX, help="The request's id."),
    reason: str = typer.Option(
        ...,
        "--reason",
        help="Why not (one line, up to 500 characters).",
        callback=inputs.text(write_offs.REASON_MAX),
    ),
    as_login: str = typer.Option(..., "--as", help=_AS_HELP, callback=inputs.text(64)),
) -> None:
    """Reject a write-off with a reason: nothing is posted, the debt stays owed."""

    async def main(db: Database) -> list[str]:
        async def unit(session: AsyncSession) -> list[str]:
            who = await staff.act_as(
                session, as_login, operator=cli_actor(), purpose=f"write_off.reject {request_id}"
            )
            await write_offs.reject_write_off(session, request_id, reason=reason, actor=who.actor())
            view = await write_offs.get_write_off(session, request_id, actor=who.actor())
            return _describe_write_off(view)

        return await db.run(unit)

    console.print("\n".join(run_async(main)), highlight=False, soft_wrap=True, markup=False)
