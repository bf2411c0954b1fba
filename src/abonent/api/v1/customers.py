"""Customers: create, read (passport masked), identify by passport, reveal, list accounts.

Customers are personal data: every endpoint here is for staff roles only, never integrations.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import reads
from abonent.accounts import service as accounts
from abonent.api.deps import Db, Session, require
from abonent.api.v1.responses import PROBLEMS
from abonent.api.v1.schemas import (
    AccountList,
    AccountSummary,
    CustomerCreate,
    CustomerList,
    CustomerOut,
    IdentifyRequest,
    PassportRevealed,
    RevealRequest,
)
from abonent.kit.actor import Actor
from abonent.kit.inputs import INT64_MAX

router = APIRouter(tags=["customers"], responses=PROBLEMS)

CustomerBody = Annotated[CustomerCreate, Body(discriminator="kind")]
CustomerId = Annotated[int, Path(ge=1, le=INT64_MAX)]


@router.post("/customers", status_code=201, response_model=CustomerOut)
async def create_customer(
    body: CustomerBody,
    actor: Annotated[Actor, Depends(require("customers.write"))],
    db: Db,
) -> CustomerOut:
    """A person (with passport) or a company (with INN). The passport is stored encrypted."""

    async def work(session: AsyncSession) -> CustomerOut:
        customer = await accounts.create_customer(
            session,
            kind=body.kind,
            full_name=body.full_name,
            actor=actor,
            passport=getattr(body, "passport", None),
            inn=body.inn,
            birth_date=getattr(body, "birth_date", None),
            contact_phone=body.contact_phone,
            email=body.email,
            timezone=body.timezone,
        )
        return CustomerOut.of(customer)

    return await db.run(work)


@router.post("/customers/identify", response_model=CustomerList)
async def identify(
    body: IdentifyRequest,
    actor: Annotated[Actor, Depends(require("customers.read"))],
    db: Db,
) -> CustomerList:
    """Find customers by passport: an identity check, audited whether or not anyone matches.

    The passport travels in the body, never in the URL (URLs end up in logs).
    """

    async def work(session: AsyncSession) -> CustomerList:
        found = await accounts.identify_by_passport(
            session, body.passport, actor=actor, reason=body.reason
        )
        return CustomerList(items=[CustomerOut.of(c) for c in found])

    return await db.run(work)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(
    customer_id: CustomerId,
    _actor: Annotated[Actor, Depends(require("customers.read"))],
    session: Session,
) -> CustomerOut:
    """One customer; the passport is masked (a full reveal is POST …/passport/reveal)."""
    return CustomerOut.of(await accounts.get_customer(session, customer_id))


@router.post("/customers/{customer_id}/passport/reveal", response_model=PassportRevealed)
async def reveal_passport(
    customer_id: CustomerId,
    body: RevealRequest,
    actor: Annotated[Actor, Depends(require("customers.reveal"))],
    db: Db,
) -> PassportRevealed:
    """The full passport, with a stated reason; the reveal is audited (who, when, why)."""

    async def work(session: AsyncSession) -> PassportRevealed:
        customer = await accounts.get_customer(session, customer_id)
        passport = accounts.reveal_passport(session, customer, actor=actor, reason=body.reason)
        return PassportRevealed(customer_id=customer.id, passport=passport)

    return await db.run(work)


@router.get("/customers/{customer_id}/accounts", response_model=AccountList)
async def customer_accounts(
    customer_id: CustomerId,
    _actor: Annotated[Actor, Depends(require("customers.read"))],
    session: Session,
) -> AccountList:
    """Every account of the customer (several SIMs, internet, TV), with balance and debt."""
    await accounts.get_customer(session, customer_id)
    items = []
    for account in await reads.accounts_of(session, customer_id):
        items.append(AccountSummary.of(account, await reads.balance(session, account.id)))
    return AccountList(items=items)
