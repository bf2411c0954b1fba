"""``abonent promised``: take one for a subscriber, show it, run the expiry job."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts.service import get_account
from abonent.cli.common import cli_actor, console, run_async
from abonent.db.uow import Database
from abonent.kit.money import format_money, parse_amount
from abonent.promised import service as promised
from abonent.promised.schemas import PromisedOut, PromisedView
from abonent.worker.promised_job import expire_once

app = typer.Typer(no_args_is_help=True, help="The promised payment (обещанный платёж).")


def _money(minor: int, currency: str = "RUB") -> str:
    return format_money(minor, currency).replace("\u00a0", " ")


def _describe(p: PromisedOut) -> str:
    return (
        f"Обещанный платёж {_money(p.amount_minor, p.currency)} до {p.due_date:%d.%m.%Y}, "
        f"плата {_money(p.fee_minor, p.currency)}, к возврату {_money(p.owed_minor, p.currency)} "
        f"({p.status}, взят {p.taken_at:%d.%m.%Y %H:%M} UTC через {p.channel})"
    )


@app.command("take")
def take(
    number: Annotated[str, typer.Argument(help="Account number.")],
    amount: Annotated[str, typer.Argument(help="Amount in roubles: 300 or 300.00.")],
) -> None:
    """Take a promised payment of one of the offered amounts for the account."""
    amount_minor = parse_amount(amount)
    actor = cli_actor()

    async def main(db: Database) -> PromisedOut:
        async def unit(session: AsyncSession) -> PromisedOut:
            account = await get_account(session, number)
            taken = await promised.take(session, account, amount_minor, channel="cli", actor=actor)
            return await promised.out(session, taken.promised, account.number)

        return await db.run(unit)

    console.print(_describe(run_async(main)), highlight=False)


@app.command("show")
def show(
    number: Annotated[str, typer.Argument(help="Account number.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The promised payment in force, or what may be taken now, or why not."""

    async def main(db: Database) -> PromisedView:
        async with db.session() as session:
            return await promised.view(session, await get_account(session, number))

    view = run_async(main)
    if as_json:
        console.print_json(view.model_dump_json())
        return
    if view.in_force is not None:
        console.print(_describe(view.in_force), highlight=False)
    elif view.offer is not None:
        lines = ", ".join(
            f"{_money(line.amount_minor)} (плата {_money(line.fee_minor)})"
            for line in view.offer.lines
        )
        console.print(f"Можно взять до {view.offer.due_date:%d.%m.%Y}: {lines}", highlight=False)
    elif view.refusal is not None:
        console.print(
            f"[{view.refusal['code']}] {view.refusal['reason']}", highlight=False, markup=False
        )


@app.command("expire")
def expire() -> None:
    """End the promised payments that are over (repaid, or expired into overdue debt).

    Idempotent: a second run finds nothing to do. The worker runs it on its own too.
    """
    ended = run_async(expire_once)
    console.print(json.dumps(ended.as_dict()))
