"""Queries over payment agents. No rules here, only reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Account, AccountBalance, PaymentAgent

# Built once: every check and pay runs one of these, and building a statement (and its cache
# key) costs more CPU than the database spends answering it.
_AGENT = select(PaymentAgent).where(PaymentAgent.code == bindparam("code"))
_AGENT_AND_ACCOUNT = (
    select(PaymentAgent, Account, AccountBalance)
    .select_from(PaymentAgent)
    .outerjoin(Account, Account.number == bindparam("number"))
    .outerjoin(AccountBalance, AccountBalance.account_id == Account.id)
    .where(PaymentAgent.code == bindparam("code"))
)


async def by_code(session: AsyncSession, code: str) -> PaymentAgent | None:
    return await session.scalar(_AGENT, {"code": code})


async def with_account(
    session: AsyncSession, code: str, number: str
) -> tuple[PaymentAgent, Account | None, AccountBalance | None] | None:
    """The agent and the account (with its balance) in one round trip; None without the agent."""
    row = (await session.execute(_AGENT_AND_ACCOUNT, {"code": code, "number": number})).first()
    return None if row is None else (row[0], row[1], row[2])


async def code_exists(session: AsyncSession, code: str) -> bool:
    return bool(await session.scalar(select(PaymentAgent.id).where(PaymentAgent.code == code)))


async def all_by_code(session: AsyncSession) -> Sequence[PaymentAgent]:
    return (await session.scalars(select(PaymentAgent).order_by(PaymentAgent.code))).all()


async def code_of(session: AsyncSession, agent_id: int) -> str | None:
    return await session.scalar(select(PaymentAgent.code).where(PaymentAgent.id == agent_id))


# md5 of the row's text: any change to any column (password, addresses, limits, active…) changes
# it. abonent_agent_pay compares it with the row it books under (migration 0018).
_COPY = (
    "SELECT md5(a::text) AS digest, a.id, a.code, a.password_hash, a.allowed_ips::text AS ips,"
    " a.min_sum_minor, a.max_sum_minor, a.active FROM payment_agents AS a WHERE a.code = $1"
)


async def copy_row(connection: Any, code: str) -> dict[str, Any] | None:
    """The agent's row and its digest, on a driver (asyncpg) connection; None: no such agent."""
    row = await connection.fetchrow(_COPY, code)
    if row is None:
        return None
    out = dict(row)
    out["allowed_ips"] = tuple(json.loads(out.pop("ips")))
    return out
