"""Queries over customers, accounts, services and contracts. No rules here, only reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import Account, AccountBalance, Contract, Customer, Service, Tariff


async def by_number(session: AsyncSession, number: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.number == number))


async def by_id(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def number_exists(session: AsyncSession, number: str) -> bool:
    return (await session.scalar(select(Account.id).where(Account.number == number))) is not None


async def balance(session: AsyncSession, account_id: int) -> AccountBalance | None:
    return await session.get(AccountBalance, account_id)


async def services_of(session: AsyncSession, account_id: int) -> Sequence[Service]:
    return (
        await session.scalars(
            select(Service).where(Service.account_id == account_id).order_by(Service.id)
        )
    ).all()


async def accounts_of(session: AsyncSession, customer_id: int) -> Sequence[Account]:
    return (
        await session.scalars(
            select(Account).where(Account.customer_id == customer_id).order_by(Account.id)
        )
    ).all()


async def customer(session: AsyncSession, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


async def customers_by_passport_hash(session: AsyncSession, digest: str) -> Sequence[Customer]:
    return (await session.scalars(select(Customer).where(Customer.passport_hash == digest))).all()


async def holder_name(session: AsyncSession, customer_id: int) -> str | None:
    return await session.scalar(select(Customer.full_name).where(Customer.id == customer_id))


async def service(session: AsyncSession, service_id: int) -> Service | None:
    return await session.get(Service, service_id)


# The identifiers a service carries are unique across all accounts; these tell whether one is
# taken before the insert would fail on the unique index.


async def msisdn_taken(session: AsyncSession, msisdn: str) -> bool:
    return bool(await session.scalar(select(Service.id).where(Service.msisdn == msisdn)))


async def login_taken(session: AsyncSession, login: str) -> bool:
    return bool(await session.scalar(select(Service.id).where(Service.login == login)))


async def smart_card_taken(session: AsyncSession, smart_card: str, chip_id: str) -> bool:
    taken = await session.scalar(
        select(Service.id).where(Service.smart_card == smart_card, Service.chip_id == chip_id)
    )
    return bool(taken)


async def contract_taken(session: AsyncSession, number: str) -> bool:
    return bool(await session.scalar(select(Contract.id).where(Contract.number == number)))


async def tariff_by_code(session: AsyncSession, code: str) -> Tariff | None:
    return await session.scalar(select(Tariff).where(Tariff.code == code))


def _numbers(stmt: Select[Any]) -> Select[Any]:
    return stmt.join(Account, Account.id == Service.account_id).order_by(Account.number)


async def numbers_by_msisdn(session: AsyncSession, msisdn: str) -> list[str]:
    stmt = _numbers(select(Account.number).select_from(Service).where(Service.msisdn == msisdn))
    return list((await session.scalars(stmt)).all())


async def numbers_by_login(session: AsyncSession, login: str) -> list[str]:
    stmt = _numbers(select(Account.number).select_from(Service).where(Service.login == login))
    return list((await session.scalars(stmt)).all())


async def numbers_by_smart_card(session: AsyncSession, smart_card: str, chip_id: str) -> list[str]:
    stmt = _numbers(
        select(Account.number)
        .select_from(Service)
        .where(Service.smart_card == smart_card, Service.chip_id == chip_id)
    )
    return list((await session.scalars(stmt)).all())


async def numbers_by_contract(session: AsyncSession, contract: str) -> list[str]:
    stmt = (
        select(Account.number)
        .join(Contract, Contract.account_id == Account.id)
        .where(Contract.number == contract)
    )
    return list((await session.scalars(stmt)).all())


async def page(
    session: AsyncSession,
    *,
    in_debt: bool | None,
    status: str | None,
    after_id: int,
    limit: int,
) -> Sequence[tuple[Account, AccountBalance]]:
    stmt = (
        select(Account, AccountBalance)
        .join(AccountBalance, AccountBalance.account_id == Account.id)
        .where(Account.id > after_id)
        .order_by(Account.id)
        .limit(limit)
    )
    if in_debt is True:
        stmt = stmt.where(AccountBalance.debt_minor > 0)
    elif in_debt is False:
        stmt = stmt.where(AccountBalance.debt_minor == 0)
    if status:
        stmt = stmt.where(Account.status == status)
    return [(a, b) for a, b in await session.execute(stmt)]


async def contracts_of(session: AsyncSession, account_id: int) -> Sequence[Contract]:
    return (
        await session.scalars(
            select(Contract).where(Contract.account_id == account_id).order_by(Contract.id)
        )
    ).all()


async def tariff_codes(session: AsyncSession, tariff_ids: set[int]) -> dict[int, str]:
    if not tariff_ids:
        return {}
    rows = await session.execute(select(Tariff.id, Tariff.code).where(Tariff.id.in_(tariff_ids)))
    return {tariff_id: code for tariff_id, code in rows}
