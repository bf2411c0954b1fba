"""The statement: the one answer to "what is my situation", rendered by every channel.

Its cost does not depend on history: the balance is one primary-key read, and only the open
items (a partial index keeps them apart from the cleared ones) are summed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import repository as repo
from abonent.accounts.errors import AccountNotFound
from abonent.accounts.service import parse_number, service_kind_label
from abonent.config import get_settings
from abonent.kit import clock
from abonent.models import Account
from abonent.statement import repository as statements
from abonent.statement.schemas import Ageing, ServiceDebt, Statement, promised_summary

# Open items not tied to a service (an account-level fee, a re-opened payment) are shown as
# belonging to the account itself.
ACCOUNT_LEVEL = ("account", "Лицевой счёт")


def _bucket(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "not_due"
    if days_overdue <= 30:
        return "days_0_30"
    if days_overdue <= 60:
        return "days_31_60"
    if days_overdue <= 90:
        return "days_61_90"
    return "days_90_plus"


@dataclass(frozen=True, slots=True)
class _Head:
    number: str
    status: str
    currency: str
    credit_limit_minor: int
    balance_minor: int


_OpenRow = tuple[int | None, int, dt.date, str | None, str | None]


async def statement_for(
    session: AsyncSession, account: Account, *, today: dt.date | None = None
) -> Statement:
    balance = await repo.balance(session, account.id)
    rows: list[_OpenRow] = [
        (r[0], r[1], r[2], r[3], r[4]) for r in await statements.open_debits(session, account.id)
    ]
    head = _Head(
        account.number,
        account.status,
        account.currency,
        account.credit_limit_minor,
        balance.balance_minor if balance else 0,
    )
    statement = _build(head, rows, today)
    promised = await statements.promised_in_force(session, account.id)
    if promised is not None:
        statement.promised_payment = promised_summary(
            amount_minor=promised.amount_minor,
            fee_minor=promised.fee_minor,
            currency=promised.currency,
            taken_at=promised.taken_at,
            expires_at=promised.expires_at,
            due_date=promised.due_date,
            owed_minor=await statements.promised_owed(session, promised),
            repayment_owed_minor=await statements.promised_repayment_left(session, promised),
        )
    return statement


async def statement_by_number(session: AsyncSession, raw_number: str) -> Statement:
    """The statement of a number typed by anyone, in one query.

    A mistyped number raises ``InvalidInput`` (format / check digit), an unknown one
    ``AccountNotFound``.
    """
    number = parse_number(raw_number)
    return from_rows(number, await statements.rows_by_number(session, number))


def from_rows(number: str, rows: Sequence[Sequence[Any]]) -> Statement:
    if not rows:
        raise AccountNotFound(f"no account {number}")
    first = rows[0]
    head = _Head(first[0], first[1], first[2], first[3], first[4] or 0)
    items: list[_OpenRow] = [(r[5], r[6], r[7], r[8], r[9]) for r in rows if r[6] is not None]
    statement = _build(head, items, None)
    if first[11] is not None:
        mine = {first[17], first[18]} - {None}
        statement.promised_payment = promised_summary(
            amount_minor=first[11],
            fee_minor=first[12],
            currency=first[13],
            taken_at=_aware(first[14]),
            expires_at=_aware(first[15]),
            due_date=first[16],
            owed_minor=sum(r[6] for r in rows if r[10] in mine and r[6] is not None),
            repayment_owed_minor=sum(r[6] for r in rows if r[10] == first[17] and r[6] is not None),
        )
    return statement


def _aware(moment: dt.datetime) -> dt.datetime:
    # The asyncpg fast path hands back the driver's value, without the column type's processing.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _build(head: _Head, rows: list[_OpenRow], today: dt.date | None) -> Statement:
    today = today or clock.today(get_settings().timezone)
    by_service: dict[int | None, ServiceDebt] = {}
    ageing = Ageing()
    debt = overdue = 0
    next_due: dt.date | None = None
    for service_id, remaining, due, kind, label in rows:
        line = by_service.get(service_id)
        if line is None:
            if service_id is None or kind is None or label is None:
                kind, label = ACCOUNT_LEVEL
            line = by_service[service_id] = ServiceDebt(
                service_id=service_id,
                kind=kind,
                kind_label=service_kind_label(kind),
                label=label,
                debt_minor=0,
                overdue_minor=0,
            )
        line.debt_minor += remaining
        debt += remaining
        days = (today - due).days
        setattr(ageing, _bucket(days), getattr(ageing, _bucket(days)) + remaining)
        if days > 0:
            line.overdue_minor += remaining
            overdue += remaining
        elif next_due is None or due < next_due:
            next_due = due
    lines = sorted(
        by_service.values(),
        key=lambda s: (s.service_id is None, -s.debt_minor, s.service_id or 0),
    )
    # A closed account keeps its debt but takes no new credit (accounts.service refuses it a
    # limit too); the limit it had stays on the account record, for the history.
    credit_limit = 0 if head.status == "closed" else head.credit_limit_minor
    return Statement(
        account_number=head.number,
        status=head.status,
        currency=head.currency,
        balance_minor=head.balance_minor,
        credit_limit_minor=credit_limit,
        available_minor=head.balance_minor + credit_limit,
        debt_minor=debt,
        overdue_minor=overdue,
        debt_by_service=lines,
        next_due_date=next_due,
        ageing=ageing,
        promised_payment=None,
        as_of=today,
    )
