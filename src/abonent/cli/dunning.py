"""``abonent dunning …``: the ladder as data (show, load) and the nightly run (docs/dunning.md)."""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.cli.charges import progress_bar, say
from abonent.cli.common import cli_actor, err_console, run_async
from abonent.db.uow import Database
from abonent.dunning import ladder as ladder_file
from abonent.dunning import service
from abonent.kit import clock

app = typer.Typer(no_args_is_help=True, help="The dunning ladder and its nightly run.")
ladder_app = typer.Typer(no_args_is_help=True, help="The ladder as data: show, load.")
app.add_typer(ladder_app, name="ladder")

ACTION_LABELS = {
    "remind": "напоминание до срока",
    "notice_1": "первое уведомление",
    "notice_2": "второе уведомление",
    "suspend_service": "приостановка услуги с долгом",
    "hand_over": "передача коллекторскому агентству",
    "court_package": "подготовка пакета в суд",
    "write_off": "предложение к списанию",
}


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("a date is YYYY-MM-DD") from None
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
        raise typer.BadParameter("a date from 2000 to 2100")
    return day


@ladder_app.command("show")
def show(
    version: Annotated[
        int | None, typer.Option("--version", help="A version; default newest.")
    ] = None,
) -> None:
    """Print a ladder version's steps (the newest by default)."""

    async def main(db: Database) -> service.LadderView:
        async with db.session() as session:
            return await service.show_ladder(session, version)

    view = run_async(main)
    lad = view.ladder
    say(
        f"ladder version {lad.id} «{lad.name}», loaded {lad.loaded_at:%d.%m.%Y %H:%M} UTC"
        f" from {lad.source}"
    )
    for row in view.rows:
        kind = row.service_kind or "all kinds"
        day = f"day {row.offset_days:+d}"
        agency = f", agency INN {row.agency_inn}" if row.agency_inn else ""
        label = ACTION_LABELS.get(row.action, row.action)
        say(f"  {row.name:<16} {day:<9} {kind:<10} {row.action} ({label}){agency}")


@ladder_app.command("load")
def load(
    path: Annotated[Path, typer.Argument(help="A ladder file: .toml, .yaml or .yml.")],
) -> None:
    """Check a ladder file and store it as a new version; a bad file changes nothing."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    actor = cli_actor()

    async def main(db: Database) -> tuple[int, int]:
        spec = ladder_file.read(data, path.name)

        async def unit(session: AsyncSession) -> tuple[int, int]:
            stored = await service.load_ladder(session, spec, source=path.name, actor=actor)
            return stored.id, len(spec.rows)

        return await db.run(unit)

    version, rows = run_async(main)
    say(f"ladder version {version} loaded: {rows} step rows from {path.name}")


@app.command("run")
def run(
    date: Annotated[
        str | None,
        typer.Option("--date", help="The run's business date, YYYY-MM-DD; default today."),
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=1_000_000, help="Accounts per unit of work.")
    ] = service.DEFAULT_BATCH_ACCOUNTS,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, max=8, help="Units of work at a time (PostgreSQL; SQLite: 1)."
        ),
    ] = service.DEFAULT_WORKERS,
) -> None:
    """Do every ladder step due on the date: idempotent, resumable, one commit per batch."""
    day = _date(date)

    async def main(db: Database) -> service.RunSummary:
        on = day or clock.today()
        # A bar only on a terminal: a cron job's log gets the summary alone.
        bar = progress_bar() if err_console.is_terminal else nullcontext(None)
        with bar as report:
            return await service.run(
                db, run_date=on, batch_accounts=batch, workers=workers, progress=report
            )

    summary = run_async(main)
    say(
        f"dunning run {summary.run_date:%d.%m.%Y} (ladder version {summary.ladder_version}): "
        f"{summary.done} steps done, {summary.items_seen} open items looked at, "
        f"{summary.batches} batches, {summary.seconds:.1f} s"
    )
    for (step, outcome), count in sorted(summary.steps.items()):
        say(f"  {step:<16} {outcome:<20} {count}")
    for reason, count in sorted(summary.stopped.items()):
        say(f"  held back: {reason:<10} {count} items")
    if summary.waiting_for_agency:
        say(f"  hand-over waiting for an agency: {summary.waiting_for_agency} items")
    if summary.waiting_for_hand_over:
        say(f"  court/write-off waiting for the hand-over: {summary.waiting_for_hand_over} items")
