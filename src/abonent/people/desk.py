"""What the console's person page needs beside ``people.service``: the one hit picked from a
search (masked), each account's recent history, and the promised payment on offer.

The same rules hold: the role table, and a person's accounts only after a live identity check
(``service.require_access``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import reads
from abonent.accounts import service as accounts
from abonent.kit.errors import NotFound
from abonent.ledger.chart import SUBSCRIBER_LEDGER
from abonent.models import Account
from abonent.people import service
from abonent.people.masking import mask_name
from abonent.people.schemas import PersonHit
from abonent.promised import service as promised
from abonent.promised.schemas import Offer
from abonent.staff.principal import StaffPrincipal
from abonent.staff.roles import check
from abonent.statement import history

HISTORY_LINES = 10


@dataclass(frozen=True, slots=True)
class HistoryLine:
    business_date: dt.date
    kind: str
    memo: str
    amount_minor: int
    """The account's own leg, in kopecks: positive what was charged, negative what was paid or
    credited."""
    currency: str


async def pick(session: AsyncSession, principal: StaffPrincipal, customer_id: int) -> PersonHit:
    """The person an employee chose from a search, as the search showed them (masked)."""
    check(principal.role, "people.find")
    customer = await service.person(session, customer_id)
    return PersonHit(
        id=customer.id,
        name=mask_name(customer.full_name),
        birth_year=customer.birth_date.year if customer.birth_date else None,
        passport=customer.passport_masked,
        accounts=len(await accounts_of_person(session, customer.id)),
    )


async def accounts_of_person(session: AsyncSession, customer_id: int) -> list[Account]:
    return list(await reads.accounts_of(session, customer_id))


async def _their(
    session: AsyncSession, principal: StaffPrincipal, customer_id: int, account_number: str
) -> Account:
    customer, _grant = await service.require_access(session, principal, customer_id)
    account = await accounts.get_account(session, account_number)
    if account.customer_id != customer.id:
        raise NotFound("no such account of this person", code="people.account_not_theirs")
    return account


async def account_history(
    session: AsyncSession,
    principal: StaffPrincipal,
    customer_id: int,
    account_number: str,
    *,
    limit: int = HISTORY_LINES,
) -> list[HistoryLine]:
    """The newest entries of one of the person's accounts (after a live check)."""
    check(principal.role, "people.view")
    account = await _their(session, principal, customer_id, account_number)
    lines = []
    for item in await history.entries_page(session, account.id, before_id=None, limit=limit):
        own = [
            p for p in item.postings if p.ledger == SUBSCRIBER_LEDGER and p.account_id == account.id
        ]
        lines.append(
            HistoryLine(
                business_date=item.entry.business_date,
                kind=item.entry.kind,
                memo=item.entry.memo,
                amount_minor=sum(p.amount_minor for p in own),
                currency=own[0].currency if own else account.currency,
            )
        )
    return lines


async def promised_offer(
    session: AsyncSession, principal: StaffPrincipal, customer_id: int, account_number: str
) -> Offer:
    """What the account may take as a promised payment now; ``PromisedRefused`` says why not."""
    check(principal.role, "people.promised")
    account = await _their(session, principal, customer_id, account_number)
    return await promised.offer(session, account)
