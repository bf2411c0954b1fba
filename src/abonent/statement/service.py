"""The statement: the one answer to "what is my situation", rendered by every channel.

Its cost does not depend on history: the balance is one primary-key read, and only the open
items (a partial index keeps them apart from the cleared ones) are summed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import repository as repo
from abonent.accounts.service import get_account, service_kind_label
from abonent.config import get_settings
from abonent.kit import clock
from abonent.ledger.service import DEBIT
from abonent.models import Account, OpenItem, Service
from abonent.statement.schemas import Ageing, ServiceDebt, Statement

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


async def statement_for(
    session: AsyncSession, account: Account, *, today: dt.date | None = None
) -> Statement:
    today = today or clock.today(get_settings().timezone)
    balance = await repo.balance(session, account.id)
    balance_minor = balance.balance_minor if balance else 0
    rows = (
        await session.execute(
            select(
                OpenItem.service_id,
                OpenItem.remaining_minor,
                OpenItem.due_date,
                Service.kind,
                Service.label,
            )
            .outerjoin(Service, Service.id == OpenItem.service_id)
            .where(
                OpenItem.account_id == account.id,
                OpenItem.side == DEBIT,
                OpenItem.remaining_minor > 0,
            )
        )
    ).all()
    by_service: dict[int | None, ServiceDebt] = {}
    ageing = Ageing()
    debt = overdue = 0
    next_due: dt.date | None = None
    for service_id, remaining, due, kind, label in rows:
        line = by_service.get(service_id)
        if line is None:
            kind, label = (kind, label) if service_id is not None else ACCOUNT_LEVEL
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
        by_service.values(), key=lambda s: (s.service_id is None, -s.debt_minor, s.service_id)
    )
    return Statement(
        account_number=account.number,
        status=account.status,
        currency=account.currency,
        balance_minor=balance_minor,
        credit_limit_minor=account.credit_limit_minor,
        available_minor=balance_minor + account.credit_limit_minor,
        debt_minor=debt,
        overdue_minor=overdue,
        debt_by_service=lines,
        next_due_date=next_due,
        ageing=ageing,
        promised_payment=None,
        as_of=today,
    )


async def statement_by_number(session: AsyncSession, raw_number: str) -> Statement:
    return await statement_for(session, await get_account(session, raw_number))
