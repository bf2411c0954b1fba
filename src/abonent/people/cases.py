"""Claims and written requests filed at the desk for a person the clerk has checked.

The person's identity check (``people.service.require_access``) opens them to this employee; the
account must be theirs; the role table is ``disputes.roles``. Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import reads
from abonent.accounts.service import get_account
from abonent.disputes import evidence as evidence_service
from abonent.disputes import repository as disputes_repo
from abonent.disputes.roles import ACTIONS, REQUEST_ACTIONS
from abonent.kit.errors import Forbidden, NotFound
from abonent.models import Account, Dispute, OpenItem, WrittenRequest
from abonent.people.service import require_access
from abonent.requests import service as requests
from abonent.staff.principal import StaffPrincipal


def _may(principal: StaffPrincipal, action: str) -> None:
    allowed = {**ACTIONS, **REQUEST_ACTIONS}[action]
    if principal.role not in allowed:
        raise Forbidden("not for this role", code="staff.role_forbidden")


async def _their_account(
    session: AsyncSession, principal: StaffPrincipal, customer_id: int, account_number: str
) -> Account:
    customer, _grant = await require_access(session, principal, customer_id)
    account = await get_account(session, account_number)
    if account.customer_id != customer.id:
        raise NotFound("no such account of this person", code="people.account_not_theirs")
    return account


async def accounts_and_charges(
    session: AsyncSession, principal: StaffPrincipal, customer_id: int
) -> tuple[str, list[tuple[Account, list[OpenItem]]], set[int]]:
    """The checked person's name, accounts with their charges, and charges under a claim."""
    customer, _grant = await require_access(session, principal, customer_id)
    found: list[tuple[Account, list[OpenItem]]] = []
    for account in await reads.accounts_of(session, customer.id):
        found.append((account, await disputes_repo.charges_of(session, account.id)))
    ids = [i.id for _a, items in found for i in items]
    return customer.full_name, found, await disputes_repo.items_already_disputed(session, ids)


async def file_dispute(
    session: AsyncSession,
    principal: StaffPrincipal,
    customer_id: int,
    *,
    account_number: str,
    claims: dict[int, int | None],
    text: str,
    files: Sequence[tuple[str, bytes]],
    written: list[Path],
) -> Dispute:
    _may(principal, "disputes.file")
    if files:
        _may(principal, "disputes.evidence")
    account = await _their_account(session, principal, customer_id, account_number)
    return await evidence_service.file_with_evidence(
        session,
        account,
        claims=claims,
        text=text,
        channel="desk",
        actor=principal.actor(),
        files=files,
        written=written,
    )


async def file_request(
    session: AsyncSession,
    principal: StaffPrincipal,
    customer_id: int,
    *,
    account_number: str,
    kind: str,
    text: str,
) -> WrittenRequest:
    _may(principal, "requests.file")
    account = await _their_account(session, principal, customer_id, account_number)
    return await requests.file_request(
        session, account, kind=kind, text=text, channel="desk", actor=principal.actor()
    )
