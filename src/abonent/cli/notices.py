"""``abonent notices …``: send a debt notice through the contact gate, release deferred ones,
check a notice, list suspicious-SMS reports; ``abonent notices template …``: the notice text."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import service as accounts
from abonent.cli.common import cli_actor, console, run_async, settings
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.money import format_money
from abonent.models import NoticeTemplateVersion
from abonent.notices import service as notices
from abonent.notices import templates
from abonent.notices.text import DEFAULT_TEMPLATE
from abonent.worker import notices_job

app = typer.Typer(no_args_is_help=True, help="Debt notices (through the contact gate).")
template_app = typer.Typer(
    no_args_is_help=True, help="The debt notice text: saved versions, the one in use."
)
app.add_typer(template_app, name="template")


@app.command("send")
def send(
    account: str = typer.Argument(..., help="The account number."),
    step: str = typer.Option("", "--step", help="The notice's step (default manual-<date>)."),
) -> None:
    """Send the account's debt notice now, or defer it to the next allowed moment."""

    async def main(db: Database) -> str:
        async with db.session(write=True) as session:
            found = await accounts.get_account(session, account)
            name = step or f"manual-{clock.today():%Y-%m-%d}"
            done = await notices.send_debt_notice(session, found, name, clock.now())
            n, o = done.notice, done.outcome
            state = {
                "sent": "sent",
                "deferred": f"deferred ({o.reason}) until {o.at:%d.%m.%Y %H:%M} UTC"
                if o.at
                else "deferred",
                "blocked": f"blocked ({o.reason})",
                "cancelled": "cancelled: nothing owed",
                "unchanged": f"already asked: {o.message.status}",
            }[o.verdict]
            return f"notice {n.id} ({name}): {format_money(n.amount_minor)}; {state}"

    console.print(run_async(main), highlight=False)


@app.command("release")
def release() -> None:
    """Run the deferred notices that are due through the gate again (the worker does this)."""

    async def main(db: Database) -> tuple[notices_job.Released, int]:
        done = await notices_job.release_once(db, settings())
        return done, await notices_job.sync_handover_deliveries(db)

    done, deliveries = run_async(main)
    console.print(
        f"sent {done.sent}, deferred again {done.deferred}, blocked {done.blocked}, "
        f"cancelled {done.cancelled}; hand-over notices with a delivery outcome {deliveries}",
        highlight=False,
    )


@app.command("reports")
def reports() -> None:
    """Suspicious-SMS reports: counts by sender and by text."""

    async def main(db: Database) -> notices.ReportSummary:
        async with db.session() as session:
            return await notices.reports_summary(session, actor=cli_actor())

    summary = run_async(main)
    console.print(f"{summary.total} reports", highlight=False)
    console.print("by sender:", highlight=False)
    for value, n in summary.by_sender:
        console.print(f"  {n:>5}  {value}", highlight=False, markup=False)
    console.print("by text:", highlight=False)
    for value, n in summary.by_text:
        console.print(f"  {n:>5}  {value[:100]}", highlight=False, markup=False)


def _saved(row: NoticeTemplateVersion) -> str:
    return f"версия {row.version}, сохранена {row.saved_at:%d.%m.%Y %H:%M} UTC ({row.saved_by})"


@template_app.command("show")
def template_show() -> None:
    """The text debt notices are written with now, or why the saved one is refused."""

    async def main(db: Database) -> list[templates.VersionState]:
        async with db.session() as session:
            return await templates.versions(session, actor=cli_actor(), settings=settings())

    found = run_async(main)
    if not found:
        console.print("встроенный текст (шаблон не сохранялся):", highlight=False)
        typer.echo(DEFAULT_TEMPLATE)
        return
    latest = found[0]
    if latest.problem is not None:
        console.print(
            f"{_saved(latest.row)} — ОТКЛОНЁН, уведомления не отправляются: "
            f"[{latest.problem.code}] {latest.problem.detail}",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(1)
    console.print(f"{_saved(latest.row)}:", highlight=False)
    typer.echo(latest.row.text)


@template_app.command("list")
def template_list() -> None:
    """Every saved version, newest (the one in use) first."""

    async def main(db: Database) -> list[templates.VersionState]:
        async with db.session() as session:
            return await templates.versions(session, actor=cli_actor(), settings=settings())

    found = run_async(main)
    if not found:
        console.print("шаблон не сохранялся: уведомления пишутся встроенным текстом")
    for state in found:
        mark = "в работе" if state.latest else "прежняя"
        if state.problem is not None:
            mark += f", отклонена [{state.problem.code}]"
        console.print(f"{_saved(state.row)} — {mark}", highlight=False, markup=False)


@template_app.command("save")
def template_save(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="UTF-8 text file."),
) -> None:
    """Save FILE as the next version of the notice text, in use from now; refused (a link, a
    missing field or explanation): nothing stored."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise typer.BadParameter("файл шаблона должен быть в UTF-8") from None

    async def main(db: Database) -> NoticeTemplateVersion:
        async def work(session: AsyncSession) -> NoticeTemplateVersion:
            return await templates.save(session, text, actor=cli_actor(), settings=settings())

        return await db.run(work)

    row = run_async(main)
    console.print(f"сохранено: {_saved(row)}, в работе с этой минуты", highlight=False)
