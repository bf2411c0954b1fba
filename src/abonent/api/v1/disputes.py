"""``/v1/disputes``: claims against charges, filed at the desk and decided by a supervisor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from abonent.accounts.service import get_account
from abonent.api.deps import Db
from abonent.api.staff_deps import require_staff
from abonent.api.v1.responses import PROBLEMS, problem
from abonent.config import get_settings
from abonent.disputes import evidence as evidence_service
from abonent.disputes import service as disputes
from abonent.disputes.errors import EvidenceForbidden
from abonent.disputes.roles import ACTIONS
from abonent.disputes.schemas import DisputeOut, dispute_out
from abonent.kit.errors import InvalidInput
from abonent.kit.inputs import INT64_MAX, Int64Id, Minor, MultilineText, Text
from abonent.staff.principal import StaffPrincipal

PathId = Annotated[int, Path(ge=1, le=INT64_MAX)]

router = APIRouter(tags=["disputes"], responses=PROBLEMS)


def _staff(action: str) -> object:
    return Depends(require_staff(*ACTIONS[action]))


Reader = Annotated[StaffPrincipal, _staff("disputes.read")]
Filer = Annotated[StaffPrincipal, _staff("disputes.file")]
Attacher = Annotated[StaffPrincipal, _staff("disputes.evidence")]
Assigner = Annotated[StaffPrincipal, _staff("disputes.assign")]
Resolver = Annotated[StaffPrincipal, _staff("disputes.resolve")]


class ClaimIn(BaseModel):
    open_item_id: Int64Id
    amount_minor: Minor | None = Field(default=None, description="kopecks contested; all if null")


class DisputeCreate(BaseModel):
    account_number: Annotated[str, Text(64, min_length=1)]
    items: list[ClaimIn] = Field(min_length=1, max_length=100)
    text: MultilineText


class AssignIn(BaseModel):
    assignee: Annotated[str, Text(128, min_length=1, blank=False)]


class AcceptedIn(BaseModel):
    open_item_id: Int64Id
    amount_minor: Minor


class ResolutionIn(BaseModel):
    outcome: Annotated[str, Field(pattern="^(accept|reject)$")]
    reason: MultilineText
    accepted: list[AcceptedIn] | None = Field(
        default=None, max_length=100, description="accept in part; null accepts every claim"
    )


def _claims(items: list[ClaimIn]) -> dict[int, int | None]:
    claims = {i.open_item_id: i.amount_minor for i in items}
    if len(claims) != len(items):
        raise InvalidInput("an open item is named twice", code="dispute_invalid")
    return claims


@router.get("/disputes", response_model=list[DisputeOut])
async def list_disputes(
    db: Db,
    _who: Reader,
    status: Annotated[
        str | None, Query(pattern="^(open|accepted|partially_accepted|rejected)$")
    ] = None,
    nearing: Annotated[
        bool, Query(description="open claims near or past their answer date")
    ] = False,
) -> list[DisputeOut]:
    async with db.session() as session:
        if nearing:
            found = await disputes.nearing_deadline(session)
        else:
            found = await disputes.listing(session, status=status)
        return [await dispute_out(session, d) for d in found]


@router.post(
    "/disputes",
    status_code=201,
    response_model=DisputeOut,
    responses={409: problem("a charge is already under an open claim"), 422: problem("refused")},
)
async def file_dispute(body: DisputeCreate, db: Db, who: Filer) -> DisputeOut:
    """File a claim at the desk. Beyond 6 months of the charge: ``dispute_claim_too_late``."""
    async with db.session(write=True) as session:
        account = await get_account(session, body.account_number)
        dispute = await disputes.file_dispute(
            session,
            account,
            claims=_claims(body.items),
            text=body.text,
            channel="desk",
            actor=who.actor(),
        )
        return await dispute_out(session, dispute)


@router.get("/disputes/{dispute_id}", response_model=DisputeOut)
async def show_dispute(dispute_id: PathId, db: Db, _who: Reader) -> DisputeOut:
    async with db.session() as session:
        return await dispute_out(session, await disputes.get_dispute(session, dispute_id))


@router.post("/disputes/{dispute_id}/assign", response_model=DisputeOut)
async def assign_dispute(dispute_id: PathId, body: AssignIn, db: Db, who: Assigner) -> DisputeOut:
    async with db.session(write=True) as session:
        dispute = await disputes.assign(session, dispute_id, body.assignee, actor=who.actor())
        return await dispute_out(session, dispute)


@router.post("/disputes/{dispute_id}/resolution", response_model=DisputeOut)
async def resolve_dispute(
    dispute_id: PathId, body: ResolutionIn, db: Db, who: Resolver
) -> DisputeOut:
    """Accept (in full or in part: a credit through the ledger, once) or reject, with a reason."""
    accepted = None
    if body.accepted is not None:
        accepted = {a.open_item_id: a.amount_minor for a in body.accepted}
    async with db.session(write=True) as session:
        done = await disputes.resolve(
            session,
            dispute_id,
            outcome=body.outcome,
            reason=body.reason,
            accepted=accepted,
            actor=who.actor(),
        )
        return await dispute_out(session, done.dispute)


@router.post(
    "/disputes/{dispute_id}/evidence",
    status_code=201,
    response_model=DisputeOut,
    responses={422: problem("not a PDF, JPEG or PNG, too large, or too many files")},
)
async def upload_evidence(
    dispute_id: PathId, db: Db, who: Attacher, file: Annotated[UploadFile, File()]
) -> DisputeOut:
    limit = get_settings().disputes.evidence_max_bytes
    content = await file.read(limit + 1)
    async with db.session(write=True) as session:
        await evidence_service.add_evidence(
            session, dispute_id, filename=file.filename or "", content=content, actor=who.actor()
        )
        return await dispute_out(session, await disputes.get_dispute(session, dispute_id))


@router.get(
    "/disputes/{dispute_id}/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}},
)
async def download_evidence(
    dispute_id: PathId, evidence_id: PathId, db: Db, who: Reader
) -> Response:
    async with db.session() as session:
        row, content = await evidence_service.read_evidence(session, evidence_id, actor=who.actor())
    if row.dispute_id != dispute_id:
        raise EvidenceForbidden("Файл не найден.")
    return Response(
        content,
        media_type=row.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{row.id}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
