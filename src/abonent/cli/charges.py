"""``abonent charges import FILE.csv``: rated charges from the rating system (docs/charges.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from abonent.charges.errors import ChargeConflict
from abonent.charges.schemas import ImportResult, ProgressFn, RowError
from abonent.charges.service import DEFAULT_BATCH_SIZE, import_charges
from abonent.cli.common import EXIT_REFUSED, cli_actor, console, err_console, run_async
from abonent.db.uow import Database
from abonent.kit.errors import AbonentError
from abonent.kit.money import format_money

app = typer.Typer(no_args_is_help=True, help="Rated charges from the rating system.")

PHASES = {
    "validating": "checking lines",
    "importing": "writing charges",
    "fees": "posting fees",
    "demo": "living the days",
}
T = TypeVar("T")


@contextmanager
def progress_bar() -> Iterator[ProgressFn]:
    """A rich progress bar (on stderr) fed by a service's ``progress(phase, done, total)``."""
    with Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    ) as bar:
        tasks = {}

        def report(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield report


def say(text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def refuse(code: str, detail: str, errors: Sequence[RowError] = ()) -> NoReturn:
    """Print the refusal (every bad line with it) on stderr and exit 1."""
    err_console.print(
        f"[red]error[/red] {escape(f'[{code}]')}: {escape(detail)}", highlight=False, soft_wrap=True
    )
    print_errors(errors)
    raise typer.Exit(EXIT_REFUSED)


def print_errors(errors: Sequence[RowError]) -> None:
    for error in errors:
        err_console.print(f"  {error}", highlight=False, markup=False, soft_wrap=True)


def run_refusing(main: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``main``; a domain error is printed with its code (and its bad lines) and exits 1."""

    async def guarded(db: Database) -> T | AbonentError:
        try:
            return await main(db)
        except AbonentError as exc:
            return exc

    outcome = run_async(guarded)
    if isinstance(outcome, AbonentError):
        errors: Sequence[RowError] = getattr(outcome, "errors", ())
        detail = outcome.detail
        if isinstance(outcome, ChargeConflict):
            detail += "; earlier batches were imported: run the file again once it is corrected"
        refuse(outcome.code, detail, errors)
    return outcome


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="CSV file with a header line (see docs/charges.md)."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the good lines and list the bad ones."
    ),
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE,
        "--batch-size",
        help="Charges per unit of work: each batch commits on its own.",
    ),
) -> None:
    """Import rated usage and one-off charges, idempotently by external id.

    The whole file is checked first; a single bad line refuses it (exit 1) and lists every bad
    line, unless --skip-invalid. Importing a file again writes only what is not there yet.
    """
    try:
        data = file.read_bytes()
    except OSError as exc:
        refuse("file_unreadable", f"cannot read {file}: {exc.strerror}")
    actor = cli_actor()
    with progress_bar() as report:

        async def main(db: Database) -> ImportResult:
            return await import_charges(
                db,
                data,
                name=file.name,
                actor=actor,
                skip_invalid=skip_invalid,
                batch_size=batch_size,
                progress=report,
            )

        result = run_refusing(main)

    say(
        f"{file.name}: {result.rows} rows; imported {result.imported} charges "
        f"({format_money(result.total_minor)}) on {result.accounts} accounts "
        f"in {result.batches} batches"
    )
    if result.allocated_minor:
        say(f"prepaid money cleared {format_money(result.allocated_minor)} of them at once")
    if result.already_there:
        say(
            f"already there: {result.already_there} charges were imported before "
            "(same external id) and were left as they were"
        )
    if result.invalid:
        err_console.print(
            f"[yellow]skipped[/yellow] {result.invalid} invalid rows:",
            highlight=False,
            soft_wrap=True,
        )
        print_errors(result.errors)
