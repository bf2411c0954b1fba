"""``abonent account show NUMBER [--json]``: the statement, as a person reads it or as JSON;
``abonent account zone NUMBER [--set ZONE | --clear]``: the subscriber's time zone."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import service as accounts
from abonent.cli.common import cli_actor, console, run_async, settings
from abonent.contact import service as contact
from abonent.contact.rules import ContactZone
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.money import format_money
from abonent.statement.schemas import Statement
from abonent.statement.service import statement_by_number

app = typer.Typer(no_args_is_help=True, help="Accounts and their statements.")

STATUS_LABELS = {"active": "активен", "suspended": "приостановлен", "closed": "закрыт"}
AGEING_LABELS = (
    ("not_due", "срок не наступил"),
    ("days_0_30", "просрочено до 30 дней"),
    ("days_31_60", "просрочено 31–60 дней"),
    ("days_61_90", "просрочено 61–90 дней"),
    ("days_90_plus", "просрочено более 90 дней"),
)


def render(st: Statement) -> list[str]:
    """The statement in Russian, one fact a line, amounts right-aligned in one column."""

    def money(minor: int) -> str:
        return format_money(minor, st.currency)

    def service_name(kind_label: str, label: str) -> str:
        return label if label == kind_label else f"{kind_label}: {label}"

    # (label, amount, note): label and amount are aligned across the whole statement.
    head: list[tuple[str, str, str]] = [
        ("Баланс", money(st.balance_minor), ""),
        ("Кредитный лимит", money(st.credit_limit_minor), ""),
        ("Доступно", money(st.available_minor), ""),
        ("Задолженность", money(st.debt_minor), ""),
        ("  в том числе просрочено", money(st.overdue_minor), ""),
        (
            "Ближайший срок оплаты",
            f"{st.next_due_date:%d.%m.%Y}" if st.next_due_date else "—",
            "",
        ),
    ]
    services = [
        (
            "  " + service_name(d.kind_label, d.label),
            money(d.debt_minor),
            f"просрочено {money(d.overdue_minor)}" if d.overdue_minor else "",
        )
        for d in st.debt_by_service
    ]
    ageing = [
        ("  " + label, money(getattr(st.ageing, field)), "")
        for field, label in AGEING_LABELS
        if getattr(st.ageing, field)
    ]
    rows = head + services + ageing
    width = max(len(label) for label, _, _ in rows) + 2
    amount_width = max(len(amount) for _, amount, _ in rows)

    def fmt(label: str, amount: str, note: str) -> str:
        text = f"{label:<{width}}{amount:>{amount_width}}"
        return f"{text}   {note}" if note else text

    status = STATUS_LABELS.get(st.status, st.status)
    lines = [f"Лицевой счёт {st.account_number} — {status}", ""]
    lines += [fmt(*r) for r in head]
    if services:
        lines += ["", "Задолженность по услугам"] + [fmt(*r) for r in services]
        lines += ["", "Задолженность по срокам"] + [fmt(*r) for r in ageing]
    else:
        lines += ["", "Задолженности нет"]
    if st.promised_payment:
        lines += ["", f"Обещанный платёж: {st.promised_payment}"]
    lines += ["", f"По состоянию на {st.as_of:%d.%m.%Y}"]
    return lines


@app.command("show")
def show(
    number: str = typer.Argument(..., help="Account number (12 digits)."),
    as_json: bool = typer.Option(False, "--json", help="The statement as exact JSON."),
) -> None:
    """The statement: balance, debt by service, overdue, next due date, ageing."""

    async def main(db: Database) -> Statement:
        async with db.session() as session:
            return await statement_by_number(session, number)

    st = run_async(main)
    if as_json:
        typer.echo(st.model_dump_json(indent=2))
        return
    typer.echo("\n".join(render(st)))


ZONE_SOURCES = {
    "account": "пояс счёта",
    "customer": "пояс владельца",
    "def_code": "регион номера по коду DEF",
    "phone": "номер может быть в любом из этих поясов: только часы, общие для всех",
    "operator": "пояс оператора (ABONENT_TIMEZONE)",
}


@dataclass(frozen=True, slots=True)
class _Zones:
    number: str
    account: str | None
    customer: str | None
    resolved: ContactZone


@app.command("zone")
def zone(
    number: str = typer.Argument(..., help="Account number (12 digits)."),
    set_to: str = typer.Option("", "--set", help="IANA zone, e.g. Asia/Novosibirsk."),
    clear: bool = typer.Option(False, "--clear", help="Forget the account's zone."),
) -> None:
    """The subscriber's time zone for debt notices: the account's, the holder's, and the one the
    contact gate takes (and why); --set or --clear changes the account's (audited)."""
    if set_to and clear:
        raise typer.BadParameter("--set or --clear, not both")

    async def main(db: Database) -> _Zones:
        async def work(session: AsyncSession) -> _Zones:
            found = await accounts.get_account(session, number)
            if set_to or clear:
                await accounts.set_timezone(session, found, set_to or None, actor=cli_actor())
            holder = await accounts.get_customer(session, found.customer_id)
            resolved = await contact.zone_for_account(
                session, found, clock.now(), settings=settings()
            )
            return _Zones(found.number, found.timezone, holder.timezone, resolved)

        return await db.run(work)

    got = run_async(main)
    console.print(f"счёт {got.number}", highlight=False)
    console.print(f"  пояс счёта:     {got.account or '— не задан'}", highlight=False)
    console.print(f"  пояс владельца: {got.customer or '— не задан'}", highlight=False)
    console.print(
        f"  уведомления по: {got.resolved.label} ({ZONE_SOURCES[got.resolved.source]})",
        highlight=False,
        markup=False,
    )
