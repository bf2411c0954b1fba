"""The subscriber's own claims (претензии) and written requests (заявки), for the cabinet and the
mobile app. Only the caller's own accounts: another's claim, request or file answers exactly as
an unknown one. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.disputes import evidence as evidence_service
from abonent.disputes import repository as disputes_repo
from abonent.disputes import service as disputes_service
from abonent.disputes.errors import DisputeNotFound, EvidenceForbidden
from abonent.kit.actor import Actor
from abonent.models import Dispute, DisputeEvidence, OpenItem, WrittenRequest
from abonent.requests import repository as requests_repo
from abonent.requests import service as requests
from abonent.subscribers.service import Principal, own_account, own_accounts


def actor_of(principal: Principal) -> Actor:
    return Actor(f"subscriber:{principal.customer_id}", "subscriber")


async def own_account_ids(session: AsyncSession, principal: Principal) -> set[int]:
    return {a.id for a in await own_accounts(session, principal)}


async def my_disputes(session: AsyncSession, principal: Principal) -> list[Dispute]:
    return await disputes_repo.of_accounts(
        session, sorted(await own_account_ids(session, principal))
    )


async def my_dispute(session: AsyncSession, principal: Principal, dispute_id: int) -> Dispute:
    dispute = await disputes_repo.get(session, dispute_id)
    if dispute is None or dispute.account_id not in await own_account_ids(session, principal):
        raise DisputeNotFound(f"Претензия №{dispute_id} не найдена.")
    return dispute


async def disputable_charges(
    session: AsyncSession, principal: Principal, account_number: str
) -> tuple[list[OpenItem], set[int]]:
    """The account's charges a claim may name (its debit items, newest first; the service
    refuses what is too old, with the reason) and those under an open claim already."""
    account = await own_account(session, principal, account_number)
    items = await disputes_repo.charges_of(session, account.id)
    return items, await disputes_repo.items_already_disputed(session, [i.id for i in items])


async def dispute_details(
    session: AsyncSession, principal: Principal, dispute_id: int
) -> tuple[Dispute, list[disputes_service.ClaimLine], list[DisputeEvidence]]:
    """One's own claim with its charges and its files."""
    dispute = await my_dispute(session, principal, dispute_id)
    return (dispute, *await disputes_service.claim_lines(session, dispute))


async def file_my_dispute(
    session: AsyncSession,
    principal: Principal,
    *,
    account_number: str,
    item_ids: Sequence[int],
    text: str,
    files: Sequence[tuple[str, bytes]],
    written: list[Path],
) -> Dispute:
    """A claim from the cabinet against whole charges of one's own account, with evidence."""
    account = await own_account(session, principal, account_number)
    return await evidence_service.file_with_evidence(
        session,
        account,
        claims=dict.fromkeys(item_ids),
        text=text,
        channel="cabinet",
        actor=actor_of(principal),
        files=files,
        written=written,
    )


async def my_evidence(
    session: AsyncSession, principal: Principal, dispute_id: int, evidence_id: int
) -> tuple[DisputeEvidence, bytes]:
    await my_dispute(session, principal, dispute_id)
    row, content = await evidence_service.read_evidence(
        session,
        evidence_id,
        actor=actor_of(principal),
        subscriber_account_ids=await own_account_ids(session, principal),
    )
    if row.dispute_id != dispute_id:
        raise EvidenceForbidden("Файл не найден.")
    return row, content


async def my_requests(session: AsyncSession, principal: Principal) -> list[WrittenRequest]:
    return await requests.of_accounts(session, sorted(await own_account_ids(session, principal)))


async def my_request(
    session: AsyncSession, principal: Principal, request_id: int
) -> WrittenRequest:
    request = await requests_repo.get(session, request_id)
    if request is None or request.account_id not in await own_account_ids(session, principal):
        raise requests.RequestNotFound(f"Заявка №{request_id} не найдена.")
    return request


async def file_my_request(
    session: AsyncSession, principal: Principal, *, account_number: str, kind: str, text: str
) -> WrittenRequest:
    account = await own_account(session, principal, account_number)
    return await requests.file_request(
        session, account, kind=kind, text=text, channel="cabinet", actor=actor_of(principal)
    )


async def my_statement_pdf(session: AsyncSession, principal: Principal, request_id: int) -> bytes:
    request = await my_request(session, principal, request_id)
    if request.answer_pdf is None:
        raise requests.RequestNotFound("К ответу не приложена справка.")
    return request.answer_pdf
