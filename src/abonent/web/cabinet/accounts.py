"""The customer's accounts: the list with the debt by service, one account's page, and the
statement of account for a period as CSV and PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from abonent.accounts import reads as account_reads
from abonent.api.deps import database_of
from abonent.config import get_settings
from abonent.kit import clock
from abonent.kit.errors import InvalidInput
from abonent.kit.numbers import mask_msisdn
from abonent.models import Account, OpenItem, Payment, Service
from abonent.payments import reads as payment_reads
from abonent.statement import export, history
from abonent.statement.reader import read_statement
from abonent.statement.schemas import ServiceDebt, Statement
from abonent.web.cabinet.session import N_, Cabinet, own_account, render_page, statements_of

router = APIRouter(prefix="/cabinet", include_in_schema=False)

Number = Annotated[str, Path()]
KINDS = {
    "mobile": N_("Мобильная связь"),
    "internet": N_("Интернет"),
    "tv": N_("Телевидение"),
    "account": N_("По счёту в целом"),
}
ENTRY_KINDS = {
    "charge": N_("Начисление"),
    "fee": N_("Плата"),
    "payment": N_("Платёж"),
    "reversal": N_("Сторно"),
    "promised": N_("Обещанный платёж"),
}
HISTORY_DAYS = 90


def service_title(service: Service) -> str:
    """What the subscriber recognises a service by, masked like everywhere else."""
    if service.kind == "mobile" and service.msisdn:
        return mask_msisdn(service.msisdn)
    if service.kind == "tv" and service.smart_card:
        return f"•••• {service.smart_card[-4:]}"
    if service.kind == "internet" and service.login:
        return service.login
    return service.label


@dataclass(frozen=True, slots=True)
class ServiceLine:
    kind: str
    title: str
    status: str
    debt_minor: int
    overdue_minor: int


@dataclass(frozen=True, slots=True)
class AccountCard:
    account: Account
    statement: Statement
    services: list[ServiceLine]
    other_debt: list[ServiceDebt]
    """Debt not tied to one of the services listed (account-level charges)."""


def _lines(
    services: list[Service], statement: Statement
) -> tuple[list[ServiceLine], list[ServiceDebt]]:
    debts = {d.service_id: d for d in statement.debt_by_service if d.service_id is not None}
    lines = []
    for s in services:
        debt = debts.pop(s.id, None)
        lines.append(
            ServiceLine(
                s.kind,
                service_title(s),
                s.status,
                debt.debt_minor if debt else 0,
                debt.overdue_minor if debt else 0,
            )
        )
    rest = [d for d in statement.debt_by_service if d.service_id is None or d.service_id in debts]
    return lines, rest


async def _card(request: Request, account: Account, statement: Statement) -> AccountCard:
    async with database_of(request).session() as session:
        services = list(await account_reads.services_of(session, account.id))
    lines, rest = _lines(services, statement)
    return AccountCard(account, statement, lines, rest)


@router.get("/accounts", response_class=HTMLResponse)
async def accounts(request: Request, principal: Cabinet) -> HTMLResponse:
    found = await statements_of(request, principal)
    cards = [await _card(request, a, s) for a, s in found]
    return await render_page(
        request,
        principal,
        "cabinet/accounts.html",
        {"cards": cards, "kinds": KINDS},
        statements=[s for _a, s in found],
    )


def _period(start: str | None, end: str | None) -> tuple[dt.date, dt.date, str | None]:
    today = clock.today(get_settings().timezone)
    error = None
    try:
        last = dt.date.fromisoformat(end) if end else today
        first = dt.date.fromisoformat(start) if start else last - dt.timedelta(days=HISTORY_DAYS)
        export.check_period(first, last)
    except (ValueError, InvalidInput):
        error = N_("Неверный период: укажите даты начала и конца, не больше трёх лет.")
        last = today
        first = today - dt.timedelta(days=HISTORY_DAYS)
    return first, last, error


DateQuery = Annotated[str | None, Query(max_length=10)]


@router.get("/accounts/{number}", response_class=HTMLResponse)
async def account_page(
    request: Request,
    principal: Cabinet,
    number: Number,
    start: DateQuery = None,
    end: DateQuery = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    account = await own_account(request, principal, number)
    db = database_of(request)
    first, last, error = _period(start, end)
    chosen = kind if kind in ENTRY_KINDS else None
    async with db.session() as session:
        period = await export.period_statement(session, account, first, last)
        items: list[OpenItem] = [
            i
            for i in await history.open_items_page(
                session, account.id, only_open=True, after_id=None, limit=100
            )
            if i.side == "debit"
        ]
        payments: list[tuple[Payment, str]] = await payment_reads.page(
            session,
            before_id=None,
            account_number=account.number,
            status=None,
            method=None,
            since=None,
            until=None,
            limit=20,
        )
    statement = await read_statement(db.engine, account.number)
    card = await _card(request, account, statement)
    lines = [line for line in period.lines if chosen is None or line.kind == chosen]
    others = [s for _a, s in await statements_of(request, principal)]
    return await render_page(
        request,
        principal,
        "cabinet/account.html",
        {
            "card": card,
            "kinds": KINDS,
            "entry_kinds": ENTRY_KINDS,
            "period": period,
            "lines": lines,
            "kind": chosen,
            "error": error,
            "items": items,
            "payments": [p for p, _n in payments],
        },
        statements=others,
        focus=account.number,
    )


@router.get("/accounts/{number}/statement.{fmt}")
async def statement_download(
    request: Request,
    principal: Cabinet,
    number: Number,
    fmt: Annotated[str, Path(max_length=3)],
    start: DateQuery = None,
    end: DateQuery = None,
) -> Response:
    account = await own_account(request, principal, number)
    if fmt not in ("csv", "pdf"):
        from abonent.web.cabinet.session import PageNotFound

        raise PageNotFound(fmt)
    first, last, _error = _period(start, end)
    async with database_of(request).session() as session:
        period = await export.period_statement(session, account, first, last)
    name = f"statement-{account.number}-{first:%Y%m%d}-{last:%Y%m%d}.{fmt}"
    body, media = (
        (export.to_csv(period), "text/csv; charset=utf-8")
        if fmt == "csv"
        else (export.to_pdf(period), "application/pdf")
    )
    return Response(
        body,
        media_type=media,
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )
