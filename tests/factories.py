"""Builders for test data, going through the real services (never raw inserts)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import service as accounts
from abonent.apikeys import service as apikeys
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.ledger.chart import clearing_ledger, revenue_ledger
from abonent.ledger.service import Posted, post_charge, post_credit
from abonent.models import Account, Service

ACTOR = Actor("test", "admin")
_seq = itertools.count(1)

# Every secret the tests create: the session's log capture (tests/conftest.py) fails the run if
# any of them appears in what was logged. The factories add theirs; tests/conftest.py also taps
# the services that mint or take secrets, so helpers elsewhere are covered too.
SECRETS: set[str] = set()


def remember_secret(value: str | None) -> None:
    if value and len(value) >= 6:
        SECRETS.add(value)


def next_msisdn() -> str:
    return f"+7916{next(_seq) % 10_000_000:07d}"


async def make_account(
    session: AsyncSession,
    *,
    kinds: Sequence[str] = ("mobile",),
    credit_limit_minor: int = 0,
    full_name: str = "Иванов Иван Иванович",
    passport: str | None = None,
    number: str | None = None,
) -> tuple[Account, list[Service]]:
    n = next(_seq)
    passport = passport or f"45{n % 100:02d}{n % 1_000_000:06d}"
    remember_secret(passport)
    customer = await accounts.create_customer(
        session, kind="person", full_name=full_name, passport=passport, actor=ACTOR
    )
    account = await accounts.open_account(
        session,
        customer_id=customer.id,
        credit_limit_minor=credit_limit_minor,
        number=number,
        actor=ACTOR,
    )
    services = []
    for kind in kinds:
        k = next(_seq)
        spec = {
            "mobile": accounts.ServiceSpec(kind="mobile", msisdn=next_msisdn()),
            "internet": accounts.ServiceSpec(kind="internet", login=f"user{k}"),
            "tv": accounts.ServiceSpec(kind="tv", smart_card=f"7500{k:08d}", chip_id=f"C{k:06d}"),
        }[kind]
        services.append(await accounts.add_service(session, account, spec, actor=ACTOR))
    return account, services


async def charge(
    session: AsyncSession,
    account: Account,
    amount_minor: int,
    *,
    due: dt.date,
    service: Service | None = None,
    kind: str = "usage",
    external_id: str | None = None,
) -> Posted:
    return await post_charge(
        session,
        account_id=account.id,
        amount_minor=amount_minor,
        revenue_ledger=revenue_ledger(service.kind if service else None),
        due_date=due,
        kind=kind,
        service_id=service.id if service else None,
        external_id=external_id,
        description="test charge",
    )


async def pay(session: AsyncSession, account: Account, amount_minor: int) -> Posted:
    return await post_credit(
        session,
        account_id=account.id,
        amount_minor=amount_minor,
        counter_ledger=clearing_ledger("test"),
        description="test payment",
    )


async def api_key(db: Database, role: str = "admin", name: str | None = None) -> str:
    async with db.session(write=True) as session:
        _key, plain = await apikeys.create(
            session, name=name or f"test-{role}", role=role, actor=ACTOR
        )
    remember_secret(plain)
    return plain


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
