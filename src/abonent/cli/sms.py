"""``abonent sms list [--status S]`` and ``abonent sms show ID``: outgoing SMS and their status."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from abonent.cli.common import console, run_async, settings
from abonent.db.uow import Database
from abonent.kit.numbers import mask_msisdn
from abonent.models import SmsMessage
from abonent.models.sms import SMS_STATUSES
from abonent.sms import service as sms

app = typer.Typer(no_args_is_help=True, help="Outgoing SMS and their delivery status.")


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    return f"{moment.astimezone(ZoneInfo(settings().timezone)):%d.%m.%Y %H:%M:%S}"


def _line(m: SmsMessage) -> str:
    reason = f"  {m.reason}" if m.reason else ""
    return (
        f"{m.id:>6}  {m.status:<13} {m.category:<7} {mask_msisdn(m.to_msisdn):<18} "
        f"{m.parts:>2} ч.  {_when(m.created_at)}{reason}"
    )


@app.command("list")
def list_(
    status: str | None = typer.Option(
        None, "--status", help=f"Only this status: {', '.join(SMS_STATUSES)}."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
) -> None:
    """The latest SMS, newest first (phone numbers masked)."""

    async def main(db: Database) -> list[str]:
        async with db.session() as session:
            return [_line(m) for m in await sms.list_messages(session, status=status, limit=limit)]

    lines = run_async(main)
    if not lines:
        console.print("no SMS")
    for line in lines:
        console.print(escape(line), highlight=False, soft_wrap=True)


@app.command("show")
def show(sms_id: int = typer.Argument(..., metavar="ID")) -> None:
    """One SMS: status, reason, timestamps and each part's receipt."""

    async def main(db: Database) -> list[str]:
        async with db.session() as session:
            view = await sms.show(session, sms_id)
        m = view.message
        lines = [
            f"SMS {m.id}  outbox {m.outbox_message_id or '—'}",
            f"to        {mask_msisdn(m.to_msisdn)}",
            f"category  {m.category}",
            f"status    {m.status}" + (f" ({m.reason})" if m.reason else ""),
            f"queued    {_when(m.created_at)}",
            f"sent      {_when(m.sent_at)}",
            f"finished  {_when(m.finished_at)}",
            f"parts     {m.parts}",
        ]
        lines += [
            f"  {p.seq}. {p.gateway_message_id}  {p.state or 'no receipt'}  {_when(p.receipt_at)}"
            for p in view.parts
        ]
        return lines

    for line in run_async(main):
        console.print(escape(line), highlight=False, soft_wrap=True)
