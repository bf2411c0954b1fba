"""``abonent registry``: import an agent's daily registry, reconcile it, look at past imports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from abonent.cli import inputs
from abonent.cli.common import (
    EXIT_FOUND_PROBLEMS,
    EXIT_REFUSED,
    cli_actor,
    console,
    err_console,
    run_async,
    settings,
)
from abonent.db.uow import Database
from abonent.kit.errors import AbonentError
from abonent.payments.agents.service import get_agent
from abonent.payments.registry import formats, parser, report
from abonent.payments.registry.service import (
    Result,
    import_registry,
    list_imports,
    load_import,
)

app = typer.Typer(no_args_is_help=True, help="Payment agents' daily registries.")


def _refuse(message: str) -> NoReturn:
    # markup=False: messages quote the agent's file, which is not Rich markup.
    err_console.print(Text("error", style="red") + Text(f" {message}"), soft_wrap=True)
    raise typer.Exit(EXIT_REFUSED)


def _refuse_error(exc: AbonentError) -> NoReturn:
    _refuse(f"[{exc.code}]: {exc.detail}")


def _check_report_path(path: Path | None) -> None:
    """Refuse before touching the database rather than lose the report after booking."""
    if path is None:
        return
    if path.is_dir():
        _refuse(f"--report {path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        _refuse(f"--report {path}: no directory {parent}")


def _write_report(result: Result, path: Path | None, tz: str) -> None:
    if path is None:
        return
    try:
        with path.open("w", encoding="utf-8", newline="") as stream:
            report.write_csv(result, stream, tz=tz)
    except OSError as exc:
        # The import itself is stored: say where to get the report again.
        err_console.print(
            Text(
                f"could not write {path}: {exc.strerror}; the result is stored, "
                f"see `abonent registry show {result.import_id} --report FILE`"
            ),
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_REFUSED) from None
    console.print(Text(f"report written to {path}"), soft_wrap=True)


# The file's layout. Every option left out comes from the agent's saved format (abonent
# registry format AGENT …), else from the defaults named in its help.
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="The file's columns in order, '-' for one to ignore. Known: txn_id, account, sum, "
        f"txn_date. Default: {','.join(parser.DEFAULT_COLUMNS)}.",
    ),
]
DelimiterOpt = Annotated[
    str | None, typer.Option("--delimiter", help="';', ',', 'tab', '|' or 'auto' (default).")
]
HeaderOpt = Annotated[
    bool | None,
    typer.Option(
        "--header/--no-header",
        help="Whether the first line is a header (default) or already a payment.",
    ),
]
EncodingOpt = Annotated[str | None, typer.Option("--encoding", help="utf-8 (default) or cp1251.")]
DateFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="strptime format of txn_date, e.g. '%d.%m.%Y %H:%M:%S'; 'auto' (default) tries "
        "OSMP's YYYYMMDDHHMMSS and the usual ISO and Russian forms.",
    ),
]
TrailerOpt = Annotated[
    str | None,
    typer.Option(
        "--trailer",
        callback=inputs.text(64),
        help="The file ends with a total line starting with this text (e.g. ИТОГО); its count "
        "and sum are checked, and a file without it is refused as cut short. 'none' (default): "
        "no total line.",
    ),
]
TrailerColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--trailer-columns",
        help="The total line's fields in order: count, sum, '-' for one to ignore. Default: "
        f"{','.join(parser.DEFAULT_TRAILER_COLUMNS)}.",
    ),
]


def _given(
    columns: str | None,
    delimiter: str | None,
    header: bool | None,
    encoding: str | None,
    date_format: str | None,
    trailer: str | None,
    trailer_columns: str | None,
) -> dict[str, object]:
    """The layout options typed on this command line, checked; 'auto' and 'none' ask for the
    default back over a saved format."""
    given: dict[str, object] = {}
    try:
        if columns is not None:
            given["columns"] = parser.parse_columns(columns)
        if trailer_columns is not None:
            given["trailer_columns"] = parser.parse_trailer_columns(trailer_columns)
    except AbonentError as exc:
        _refuse_error(exc)
    if delimiter is not None:
        given["delimiter"] = delimiter
    if header is not None:
        given["header"] = header
    if encoding is not None:
        given["encoding"] = encoding
    if date_format is not None:
        given["date_format"] = None if date_format.strip().lower() == "auto" else date_format
    if trailer is not None:
        given["trailer"] = None if trailer.strip().lower() == "none" else trailer
    return given


@app.command("import")
def import_command(
    agent: Annotated[str, typer.Argument(help="The agent's code (abonent agent list).")],
    file: Annotated[Path, typer.Argument(help="The registry file (CSV).")],
    book_missing: Annotated[
        bool,
        typer.Option(
            "--book-missing",
            help="Book the lines missing here (same source and txn_id as OSMP, method "
            "'registry'). Without it nothing is booked.",
        ),
    ] = False,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Write every line's outcome to this CSV.")
    ] = None,
    columns: ColumnsOpt = None,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    trailer: TrailerOpt = None,
    trailer_columns: TrailerColumnsOpt = None,
    on_date: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="The day (YYYY-MM-DD) the registry covers; default: the span of its txn_dates.",
        ),
    ] = None,
    all_lines: Annotated[
        bool, typer.Option("--all", help="List matched lines too, not only differences.")
    ] = False,
) -> None:
    """Reconcile an agent's daily registry with the payments booked for that agent.

    Exit 0: every line matched (or was booked by --book-missing); 3: differences remain;
    1: refused (unknown agent, unreadable file, bad lines), nothing changed.
    """
    try:
        data = file.read_bytes()
    except OSError as exc:
        _refuse(f"cannot read {file}: {exc.strerror or exc}")
    day = None
    if on_date is not None:
        try:
            day = dt.date.fromisoformat(on_date)
        except ValueError:
            _refuse(f"--date {on_date!r}: expected YYYY-MM-DD")
    _check_report_path(report_path)
    tz = settings().timezone
    actor = cli_actor()

    given = _given(columns, delimiter, header, encoding, date_format, trailer, trailer_columns)

    async def main(db: Database) -> Result:
        try:
            return await db.run(
                lambda session: import_registry(
                    session,
                    agent_code=agent,
                    file_name=file.name,
                    data=data,
                    given=given,
                    actor=actor,
                    book_missing=book_missing,
                    on_date=day,
                )
            )
        except AbonentError as exc:
            _refuse_error(exc)

    result = run_async(main)
    report.render(result, console, tz=tz, all_lines=all_lines)
    _write_report(result, report_path, tz)
    if not result.clean:
        raise typer.Exit(EXIT_FOUND_PROBLEMS)


@app.command("format")
def format_command(
    agent: Annotated[str, typer.Argument(help="The agent's code (abonent agent list).")],
    columns: ColumnsOpt = None,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    trailer: TrailerOpt = None,
    trailer_columns: TrailerColumnsOpt = None,
    forget: Annotated[
        bool, typer.Option("--forget", help="Drop the saved format: imports use the defaults.")
    ] = False,
) -> None:
    """Save how AGENT lays out its registries, so that `registry import AGENT FILE` needs no
    options; the options given change the saved format, the rest stays. Without options: show it.
    """
    given = _given(columns, delimiter, header, encoding, date_format, trailer, trailer_columns)
    if forget and given:
        _refuse("--forget takes no other options")
    actor = cli_actor()

    async def main(db: Database) -> tuple[str, parser.Options]:
        try:
            if forget:
                gone = await db.run(lambda s: formats.forget(s, agent, actor=actor))
                return ("saved format dropped" if gone else "no saved format"), parser.Options()
            if given:
                options = await db.run(lambda s: formats.save(s, agent, given, actor=actor))
                return "saved", options
            async with db.session() as session:
                kept = await formats.saved(session, await get_agent(session, agent))
            return ("saved format" if kept else "no saved format: the defaults"), (
                kept or parser.Options()
            )
        except AbonentError as exc:
            _refuse_error(exc)

    what, options = run_async(main)
    console.print(Text(f"{agent}: {what}"), soft_wrap=True)
    for name, value in _describe_options(options):
        console.print(Text(f"  {name:<16} {value}"), soft_wrap=True)


def _describe_options(options: parser.Options) -> list[tuple[str, str]]:
    return [
        ("columns", ",".join(options.columns)),
        ("delimiter", options.delimiter),
        ("header", "yes" if options.header else "no"),
        ("encoding", options.encoding),
        ("date format", options.date_format or "auto"),
        ("trailer", options.trailer or "none"),
        ("trailer columns", ",".join(options.trailer_columns) if options.trailer else "-"),
    ]


@app.command("show")
def show_command(
    import_id: Annotated[int, typer.Argument(help="The import's number (abonent registry list).")],
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Write every line's outcome to this CSV.")
    ] = None,
    all_lines: Annotated[
        bool, typer.Option("--all", help="List matched lines too, not only differences.")
    ] = False,
) -> None:
    """Print a stored reconciliation exactly as its import printed it."""
    _check_report_path(report_path)
    tz = settings().timezone

    async def main(db: Database) -> Result:
        try:
            async with db.session() as session:
                return await load_import(session, import_id)
        except AbonentError as exc:
            _refuse_error(exc)

    result = run_async(main)
    report.render(result, console, tz=tz, all_lines=all_lines)
    _write_report(result, report_path, tz)


@app.command("list")
def list_command(
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
) -> None:
    """The latest imports, newest first."""
    tz = settings().timezone

    async def main(db: Database) -> list[list[str]]:
        try:
            async with db.session() as session:
                rows = await list_imports(session, agent_code=agent, limit=limit)
        except AbonentError as exc:
            _refuse_error(exc)
        out = []
        for row, code in rows:
            outcomes = row.summary.get("outcomes", {})
            differences = sum(
                v["count"] for k, v in outcomes.items() if k not in ("matched", "booked")
            )
            booked = outcomes.get("booked", {}).get("count", 0)
            out.append(
                [
                    str(row.id),
                    row.created_at.astimezone(ZoneInfo(tz)).strftime("%d.%m %H:%M"),
                    code,
                    str(row.registry_date or ""),
                    str(row.summary.get("registry_lines", "")),
                    str(booked) if row.summary.get("book_missing") else "dry run",
                    str(differences),
                    row.file_name,
                ]
            )
        return out

    rows = run_async(main)
    table = Table(title="Registry imports", box=box.SIMPLE_HEAD)
    for column in ("#", "imported", "agent", "day", "lines", "booked", "diff", "file"):
        fold = column == "file"
        table.add_column(
            column,
            no_wrap=not fold,
            overflow="fold" if fold else "ellipsis",
            justify="right" if column in ("#", "lines", "booked", "diff") else "left",
        )
    for cells in rows:
        table.add_row(*(Text(c) for c in cells))
    console.print(table)
