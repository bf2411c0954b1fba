"""Queries of the subscriber's identity. No rules here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, bindparam, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Account, Contract, Customer, LoginCode, Service, SubscriberSession
from abonent.statement.repository import BY_NUMBER


async def customer_by_sim(session: AsyncSession, msisdn: str) -> int | None:
    found = await session.scalar(
        select(Account.customer_id)
        .join(Service, Service.account_id == Account.id)
        .where(Service.msisdn == msisdn)
    )
    return None if found is None else int(found)


async def customer_by_phone(session: AsyncSession, msisdn: str) -> int | None:
    found = await session.scalar(
        select(Customer.id).where(Customer.contact_phone == msisdn).order_by(Customer.id).limit(1)
    )
    return None if found is None else int(found)


async def latest_code(session: AsyncSession, msisdn: str) -> LoginCode | None:
    return await session.scalar(
        select(LoginCode)
        .where(LoginCode.msisdn == msisdn)
        .order_by(LoginCode.created_at.desc(), LoginCode.id.desc())
        .limit(1)
        .with_for_update()
    )


async def session_by_access(session: AsyncSession, digest: str) -> SubscriberSession | None:
    return await session.scalar(
        select(SubscriberSession).where(SubscriberSession.access_hash == digest)
    )


async def session_with_account(
    session: AsyncSession, digest: str, number: str
) -> tuple[SubscriberSession, int | None, str | None, str | None] | None:
    """The session of an access token and, in the same query, its customer's account of that
    number (NULLs when the customer holds no such account)."""
    result = await session.execute(
        select(SubscriberSession, Account.id, Account.number, Account.currency)
        .outerjoin(
            Account,
            and_(Account.customer_id == SubscriberSession.customer_id, Account.number == number),
        )
        .where(SubscriberSession.access_hash == digest)
    )
    row = result.first()
    return None if row is None else (row[0], row[1], row[2], row[3])


# Built once, run on the hot path by ``reader.py`` (positional: $1 the digest, $2 the number).
LIVE_WITH_ACCOUNT = (
    select(
        SubscriberSession.id,
        SubscriberSession.customer_id,
        SubscriberSession.msisdn,
        SubscriberSession.kind,
        SubscriberSession.revoked_at,
        SubscriberSession.access_expires_at,
        SubscriberSession.expires_at,
        SubscriberSession.last_seen_at,
        Account.id,
        Account.number,
        Account.currency,
    )
    .select_from(SubscriberSession)
    .outerjoin(
        Account,
        and_(
            Account.customer_id == SubscriberSession.customer_id,
            Account.number == bindparam("number"),
        ),
    )
    .where(SubscriberSession.access_hash == bindparam("digest"))
)
"""The session of an access token and its customer's account of a number, as plain columns."""

# The statement's own query (``statement.repository.BY_NUMBER``, its columns in its order, then
# the account's id), joined LATERAL to the session of the token and limited to that session's
# customer: the token check, the owner check and the statement in ONE round trip (PostgreSQL
# only; ``reader.py`` runs it). Rows: none for an unknown token; one row of NULL statement
# columns when the account is not the caller's (or does not exist); else the statement's rows.
_OWNED = (
    BY_NUMBER.add_columns(Account.id)
    .where(Account.customer_id == SubscriberSession.customer_id)
    .lateral("owned")
)
OWN_STATEMENT = (
    select(
        SubscriberSession.id,
        SubscriberSession.customer_id,
        SubscriberSession.msisdn,
        SubscriberSession.kind,
        SubscriberSession.revoked_at,
        SubscriberSession.access_expires_at,
        SubscriberSession.expires_at,
        SubscriberSession.last_seen_at,
        *_OWNED.c,
    )
    .select_from(SubscriberSession)
    .outerjoin(_OWNED, true())
    .where(SubscriberSession.access_hash == bindparam("digest"))
)
SESSION_COLUMNS = 8
"""``OWN_STATEMENT``'s rows: the session's 8 columns, then ``BY_NUMBER``'s, then the account id."""


async def session_by_refresh(session: AsyncSession, digest: str) -> SubscriberSession | None:
    return await session.scalar(
        select(SubscriberSession).where(SubscriberSession.refresh_hash == digest).with_for_update()
    )


async def session_by_previous_refresh(
    session: AsyncSession, digest: str
) -> SubscriberSession | None:
    return await session.scalar(
        select(SubscriberSession)
        .where(SubscriberSession.previous_refresh_hash == digest)
        .with_for_update()
    )


async def live_sessions(session: AsyncSession, customer_id: int) -> Sequence[SubscriberSession]:
    return (
        await session.scalars(
            select(SubscriberSession)
            .where(
                SubscriberSession.customer_id == customer_id, SubscriberSession.revoked_at.is_(None)
            )
            .order_by(SubscriberSession.created_at.desc(), SubscriberSession.id.desc())
        )
    ).all()


async def accounts_of(session: AsyncSession, customer_id: int) -> Sequence[Account]:
    return (
        await session.scalars(
            select(Account).where(Account.customer_id == customer_id).order_by(Account.number)
        )
    ).all()


async def account_of(session: AsyncSession, customer_id: int, number: str) -> Account | None:
    return await session.scalar(
        select(Account).where(Account.customer_id == customer_id, Account.number == number)
    )


async def tv_account(session: AsyncSession, smart_card: str, chip_id: str) -> str | None:
    return await session.scalar(
        select(Account.number)
        .join(Service, Service.account_id == Account.id)
        .where(Service.kind == "tv", Service.smart_card == smart_card, Service.chip_id == chip_id)
        .limit(1)
    )


async def contract_holder(session: AsyncSession, contract: str) -> tuple[str, str] | None:
    row = (
        await session.execute(
            select(Account.number, Customer.full_name)
            .join(Contract, Contract.account_id == Account.id)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Contract.number == contract)
            .limit(1)
        )
    ).first()
    return None if row is None else (str(row[0]), str(row[1]))


async def touch(
    session: AsyncSession, session_id: int, seen_at: dt.datetime, access_until: dt.datetime | None
) -> None:
    """Record a use of the session (and a web session's slid access deadline): one UPDATE."""
    values: dict[str, dt.datetime] = {"last_seen_at": seen_at}
    if access_until is not None:
        values["access_expires_at"] = access_until
    await session.execute(
        update(SubscriberSession)
        .where(SubscriberSession.id == session_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
