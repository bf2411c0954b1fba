"""What a claim looks like to a surface."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.config import get_settings
from abonent.disputes import repository as repo
from abonent.disputes import rules
from abonent.models import Dispute


class DisputeItemOut(BaseModel):
    open_item_id: int
    claimed_minor: int
    accepted_minor: int | None


class EvidenceOut(BaseModel):
    id: int
    original_name: str
    media_type: str
    size_bytes: int
    sha256: str


class DisputeOut(BaseModel):
    id: int
    account_id: int
    status: str
    text: str
    channel: str
    received_on: dt.date
    registered_on: dt.date
    register_by: dt.date
    """The registration deadline: no later than the next working day after ``received_on``."""
    answer_due_on: dt.date
    international: bool
    assignee: str | None
    resolution_text: str | None
    accepted_minor: int | None
    items: list[DisputeItemOut]
    evidence: list[EvidenceOut]


async def dispute_out(session: AsyncSession, dispute: Dispute) -> DisputeOut:
    items = await repo.items_of(session, dispute.id)
    files = await repo.evidence_of(session, dispute.id)
    return DisputeOut(
        id=dispute.id,
        account_id=dispute.account_id,
        status=dispute.status,
        text=dispute.text,
        channel=dispute.channel,
        received_on=dispute.received_on,
        registered_on=dispute.registered_on,
        register_by=rules.registration_deadline(dispute.received_on, get_settings().disputes),
        answer_due_on=dispute.answer_due_on,
        international=dispute.international,
        assignee=dispute.assignee,
        resolution_text=dispute.resolution_text,
        accepted_minor=dispute.accepted_minor,
        items=[
            DisputeItemOut(
                open_item_id=i.open_item_id,
                claimed_minor=i.claimed_minor,
                accepted_minor=i.accepted_minor,
            )
            for i in items
        ],
        evidence=[
            EvidenceOut(
                id=f.id,
                original_name=f.original_name,
                media_type=f.media_type,
                size_bytes=f.size_bytes,
                sha256=f.sha256,
            )
            for f in files
        ],
    )
