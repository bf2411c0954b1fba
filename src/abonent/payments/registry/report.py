"""Showing a reconciliation: a Rich summary for the terminal and a CSV for whoever follows up.

Both render a :class:`~abonent.payments.registry.service.Result`, whether just computed or
loaded from the stored import, so ``registry show`` prints exactly what the import printed.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import TextIO
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from abonent.kit.money import format_money, format_plain
from abonent.payments.registry.service import (
    OUTCOMES,
    Outcome,
    Result,
)

LABELS = {
    "matched": "matched",
    "booked": "booked now from the registry",
    "missing_here": "missing here (in the registry, not booked)",
    "amount_mismatch": "amount differs",
    "account_mismatch": "account differs",
    "status_mismatch": "reversed or not settled here",
    "unknown_to_agent": "unknown to the agent (booked here only)",
}
CSV_COLUMNS = (
    "line",
    "txn_id",
    "txn_date",
    "outcome",
    "account",
    "agent_sum",
    "our_account",
    "our_sum",
    "payment_id",
    "note",
)


def local_time(moment: dt.datetime | None, tz: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def csv_row(line: Outcome, tz: str) -> list[str]:
    def plain(value: int | None) -> str:
        return "" if value is None else format_plain(value)

    return [
        "" if line.line_no is None else str(line.line_no),
        line.txn_id,
        local_time(line.txn_date, tz),
        line.outcome,
        line.account_number or "",
        plain(line.agent_amount_minor),
        line.our_account_number or "",
        plain(line.our_amount_minor),
        "" if line.payment_id is None else str(line.payment_id),
        line.note or "",
    ]


def write_csv(result: Result, stream: TextIO, *, tz: str) -> None:
    """Every line, matched ones included: registry lines in file order, then ours only."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in result.lines:
        writer.writerow(csv_row(line, tz))


def _short_time(moment: dt.datetime | None, tz: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(tz)).strftime("%d.%m %H:%M")


def _money(value: int | None) -> str:
    return "" if value is None else format_money(value)


def render(result: Result, console: Console, *, tz: str, all_lines: bool = False) -> None:
    mode = "booking missing lines" if result.book_missing else "dry run: nothing booked"
    span = (
        result.date_from.isoformat()
        if result.date_from == result.date_to
        else f"{result.date_from.isoformat()} – {result.date_to.isoformat()}"
    )
    console.print(
        Text(
            f"registry #{result.import_id} · agent {result.agent_code} · {result.file_name} "
            f"(sha256 {result.file_sha256[:12]}) · {span} · {result.registry_lines} lines · "
            f"{mode}"
        ),
        soft_wrap=True,
    )
    if result.earlier_runs:
        runs = ", ".join(f"#{i}" for i in result.earlier_runs)
        console.print(Text(f"this file was imported before for this agent: {runs}"), soft_wrap=True)

    summary = Table(title="Reconciliation")
    summary.add_column("outcome")
    summary.add_column("lines", justify="right")
    summary.add_column("agent's sum", justify="right")
    summary.add_column("our sum", justify="right")
    totals = result.totals()
    for name in OUTCOMES:
        t = totals[name]
        summary.add_row(
            LABELS[name], str(t.count), format_money(t.agent_minor), format_money(t.our_minor)
        )
    console.print(summary)

    shown = result.lines if all_lines else result.differences
    if shown:
        # Narrow enough for an 80-column terminal: amounts under accounts, the note under the
        # outcome. Text(): the agent's file is not Rich markup, whatever brackets it holds.
        table = Table(title="All lines" if all_lines else "Differences", box=box.SIMPLE_HEAD)
        table.add_column("line", justify="right", no_wrap=True)
        table.add_column("txn_id", overflow="fold", min_width=6)
        table.add_column("paid at", no_wrap=True)
        table.add_column("agent's", justify="right", no_wrap=True)
        table.add_column("ours", justify="right", no_wrap=True)
        table.add_column("outcome", min_width=16, overflow="fold")
        for line in shown:
            agent = [line.account_number or "", _money(line.agent_amount_minor)]
            ours = [
                line.our_account_number or "",
                _money(line.our_amount_minor),
                "" if line.payment_id is None else f"payment {line.payment_id}",
            ]
            outcome = Text(line.outcome)
            if line.note:
                outcome.append("\n" + line.note, style="dim")
            table.add_row(
                Text("" if line.line_no is None else str(line.line_no)),
                Text(line.txn_id),
                Text(_short_time(line.txn_date, tz)),
                Text("\n".join(x for x in agent if x)),
                Text("\n".join(x for x in ours if x)),
                outcome,
            )
        console.print(table)

    booked = totals["booked"].count
    if result.clean:
        verdict = f"all {result.registry_lines} lines matched"
        if booked:
            verdict += f" ({booked} booked now from the registry)"
        console.print(Text(verdict), soft_wrap=True)
    else:
        open_ = len([line for line in result.lines if line.outcome not in ("matched", "booked")])
        console.print(Text(f"{open_} difference(s) need attention"), soft_wrap=True)
