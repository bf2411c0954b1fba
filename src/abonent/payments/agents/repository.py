"""Queries over payment agents. No rules here, only reads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.ledger import pg_payment
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
# PostgreSQL, pay: the same, with the account's balance row locked and what the booking decides
# from read in the same round trip (ledger.pg_payment.locking). Inner joins: the lock cannot
# apply to the nullable side of an outer join; no row means "ask _AGENT_AND_ACCOUNT". A payment
# id is drawn only for an active agent.
_AGENT_AND_ACCOUNT_LOCKED = pg_payment.locking(
    select(PaymentAgent, Account, AccountBalance)
    .select_from(PaymentAgent)
    .join(Account, Account.number == bindparam("number"))
    .join(AccountBalance, AccountBalance.account_id == Account.id)
    .where(PaymentAgent.code == bindparam("code")),
    source=bindparam("source", type_=String),
    source_txn_id=bindparam("source_txn_id", type_=String),
    draw_when=PaymentAgent.active.is_(True),
)


async def by_code(session: AsyncSession, code: str) -> PaymentAgent | None:
    return await session.scalar(_AGENT, {"code": code})


async def with_account(
    session: AsyncSession, code: str, number: str
) -> tuple[PaymentAgent, Account | None, AccountBalance | None] | None:
    """The agent and the account (with its balance) in one round trip; None without the agent."""
    row = (await session.execute(_AGENT_AND_ACCOUNT, {"code": code, "number": number})).first()
    return None if row is None else (row[0], row[1], row[2])


async def with_account_locked(
    session: AsyncSession, code: str, number: str, *, source: str, source_txn_id: str
) -> tuple[PaymentAgent, Account, AccountBalance, pg_payment.Locked] | None:
    """:func:`with_account` with the balance row locked for booking ``(source, source_txn_id)``
    (PostgreSQL only). None: no such agent, account or balance row; nothing was locked."""
    row = (
        await session.execute(
            _AGENT_AND_ACCOUNT_LOCKED,
            {"code": code, "number": number, "source": source, "source_txn_id": source_txn_id},
        )
    ).first()
    if row is None:
        return None
    return row[0], row[1], row[2], pg_payment.locked_from(row, row[2])


async def code_exists(session: AsyncSession, code: str) -> bool:
    return bool(await session.scalar(select(PaymentAgent.id).where(PaymentAgent.code == code)))


async def all_by_code(session: AsyncSession) -> Sequence[PaymentAgent]:
    return (await session.scalars(select(PaymentAgent).order_by(PaymentAgent.code))).all()


async def code_of(session: AsyncSession, agent_id: int) -> str | None:
    return await session.scalar(select(PaymentAgent.code).where(PaymentAgent.id == agent_id))
