"""``/v1/collections/…`` and ``/v1/court/…``: agencies, hand-over and recall, the export file,
write-off by request and approval, the commission report, the dashboards' series, and the
court-order cases — for operators who build their own front end. Staff tokens only; each route
under the role rule of ``collections/roles.py``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from abonent.accounts.service import get_account
from abonent.api.deps import Db
from abonent.api.staff_deps import require_staff
from abonent.api.v1.responses import PROBLEMS, problem
from abonent.collections import agents, dashboard, export, write_offs
from abonent.collections import service as collections
from abonent.collections.roles import ROLES
from abonent.court import package
from abonent.court import service as court
from abonent.kit import clock
from abonent.kit.inputs import INT64_MAX, Text
from abonent.models import CollectionAgency, CollectionAssignment, CourtCase, WriteOffRequest
from abonent.staff.principal import StaffPrincipal

PathId = Annotated[int, Path(ge=1, le=INT64_MAX)]
AccountNumber = Annotated[str, Text(64, min_length=1)]
router = APIRouter(tags=["collections"], responses=PROBLEMS)


def _staff(action: str) -> object:
    return Depends(require_staff(*ROLES[action]))


Reader = Annotated[StaffPrincipal, _staff("collections.read")]
Manager = Annotated[StaffPrincipal, _staff("agency.manage")]
HandsOver = Annotated[StaffPrincipal, _staff("collections.handover")]
Recalls = Annotated[StaffPrincipal, _staff("collections.recall")]
Requests = Annotated[StaffPrincipal, _staff("write_off.request")]
Approves = Annotated[StaffPrincipal, _staff("write_off.approve")]
Rejects = Annotated[StaffPrincipal, _staff("write_off.reject")]
WriteOffReader = Annotated[StaffPrincipal, _staff("write_off.read")]
Viewer = Annotated[StaffPrincipal, _staff("collections.dashboard")]
Preparer = Annotated[StaffPrincipal, _staff("court.prepare")]


class AgencyIn(BaseModel):
    name: Annotated[str, Text(200, min_length=1, blank=False)]
    inn: Annotated[str, Field(pattern=r"^\d{10}(\d{2})?$")]
    contacts: Annotated[str, Text(500)] = ""
    export_format: Annotated[str, Field(pattern="^(csv|xlsx)$")] = "csv"
    commission_bp: Annotated[int, Field(ge=0, le=10_000, description="1 500 = 15 %")] = 0


class AgencyOut(BaseModel):
    id: int
    name: str
    inn: str
    contacts: str
    export_format: str
    commission_bp: int
    agent_id: int | None

    @classmethod
    def of(cls, a: CollectionAgency) -> AgencyOut:
        return cls(
            id=a.id,
            name=a.name,
            inn=a.inn,
            contacts=a.contacts,
            export_format=a.export_format,
            commission_bp=a.commission_bp,
            agent_id=a.agent_id,
        )


class AgentLinkIn(BaseModel):
    agent_code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{2,32}$")]


class HandoverIn(BaseModel):
    account_number: AccountNumber
    agency_id: Annotated[int, Field(ge=1, le=INT64_MAX)]


class AssignmentOut(BaseModel):
    id: int
    account_id: int
    agency_id: int
    amount_minor: int
    status: str
    handed_over_on: dt.date
    recalled_on: dt.date | None
    notice_due_on: dt.date
    notice_status: str
    created: bool | None = None

    @classmethod
    def of(cls, a: CollectionAssignment, created: bool | None = None) -> AssignmentOut:
        return cls(
            id=a.id,
            account_id=a.account_id,
            agency_id=a.agency_id,
            amount_minor=a.amount_minor,
            status=a.status,
            handed_over_on=a.handed_over_on,
            recalled_on=a.recalled_on,
            notice_due_on=a.notice_due_on,
            notice_status=a.notice_status,
            created=created,
        )


class WriteOffIn(BaseModel):
    account_number: AccountNumber
    reason: Annotated[str, Text(500, min_length=1, blank=False)]


class WriteOffOut(BaseModel):
    id: int
    account_id: int
    amount_minor: int
    reason: str
    status: str
    requested_by: str
    approved_by: str | None
    entry_id: int | None

    @classmethod
    def of(cls, w: WriteOffRequest) -> WriteOffOut:
        return cls(
            id=w.id,
            account_id=w.account_id,
            amount_minor=w.amount_minor,
            reason=w.reason,
            status=w.status,
            requested_by=w.requested_by,
            approved_by=w.approved_by,
            entry_id=w.entry_id,
        )


class WriteOffRejectIn(BaseModel):
    reason: Annotated[
        str,
        Text(write_offs.REASON_MAX, min_length=1, blank=False),
        Field(description="why the debt is not written off; kept in the audit trail"),
    ]


class WriteOffItemOut(BaseModel):
    open_item_id: int
    service_kind: str | None = Field(description="mobile, internet, tv; null: the account's own")
    period: str | None
    due_date: dt.date
    amount_minor: int = Field(description="kopecks charged")
    covered_minor: int = Field(
        description="kopecks: pending, what remains and an approval now writes off; approved, "
        "what the write-off cleared"
    )


class WriteOffViewOut(BaseModel):
    id: int
    account_id: int
    account_number: str
    status: str = Field(description="pending, approved or rejected")
    amount_minor: int = Field(description="the debt the request covered when it was made")
    covered_minor: int = Field(description="the sum of the items' covered_minor")
    debt_minor: int = Field(description="the account's statement debt now")
    currency: str
    reason: str = Field(description="why it was requested")
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    rejection_reason: str | None
    entry_id: int | None = Field(description="the write-off's journal entry, once approved")
    items: list[WriteOffItemOut]

    @classmethod
    def of(cls, v: write_offs.WriteOffView) -> WriteOffViewOut:
        r = v.request
        return cls(
            id=r.id,
            account_id=r.account_id,
            account_number=v.account_number,
            status=v.status,
            amount_minor=r.amount_minor,
            covered_minor=v.covered_minor,
            debt_minor=v.debt_minor,
            currency=v.currency,
            reason=r.reason,
            requested_by=r.requested_by,
            requested_at=r.requested_at,
            decided_by=v.decided_by,
            decided_at=v.decided_at,
            rejection_reason=v.rejection_reason,
            entry_id=r.entry_id,
            items=[
                WriteOffItemOut(
                    open_item_id=i.open_item_id,
                    service_kind=i.service_kind,
                    period=i.period,
                    due_date=i.due_date,
                    amount_minor=i.amount_minor,
                    covered_minor=i.covered_minor,
                )
                for i in v.items
            ],
        )


class CommissionLineOut(BaseModel):
    payment_id: int
    account_number: str
    booked_on: dt.date
    amount_minor: int
    in_portfolio: bool
    commission_minor: int


class CommissionOut(BaseModel):
    agency_id: int
    start: dt.date
    end: dt.date
    collected_minor: int
    outside_minor: int
    commission_minor: int
    lines: list[CommissionLineOut]


class SeriesRowOut(BaseModel):
    label: str
    amount_minor: int
    count: int
    extra_minor: int | None


class SeriesOut(BaseModel):
    name: str
    title: str
    count_label: str
    total_minor: int
    rows: list[SeriesRowOut]


class CaseIn(BaseModel):
    account_number: AccountNumber
    as_of: dt.date | None = Field(default=None, description="the application date; today if null")


class StageIn(BaseModel):
    stage: Annotated[str, Field(pattern="^[a-z_]{1,16}$")]
    on: dt.date | None = None
    note: Annotated[str, Text(500)] = ""


class CaseLineOut(BaseModel):
    open_item_id: int
    part: str
    period: str | None
    service: str
    due_date: dt.date
    amount_minor: int
    paid_minor: int
    remaining_minor: int


class StageOut(BaseModel):
    stage: str
    on: dt.date
    note: str
    actor: str


class CaseOut(BaseModel):
    id: int
    account_id: int
    stage: str
    as_of: dt.date
    claim_minor: int
    fee_minor: int
    time_barred_minor: int
    lines: list[CaseLineOut] = []
    stages: list[StageOut] = []

    @classmethod
    def of(cls, c: CourtCase, shown: court.CaseView | None = None) -> CaseOut:
        return cls(
            id=c.id,
            account_id=c.account_id,
            stage=c.stage,
            as_of=c.as_of,
            claim_minor=c.claim_minor,
            fee_minor=c.fee_minor,
            time_barred_minor=c.time_barred_minor,
            lines=[
                CaseLineOut(
                    open_item_id=x.open_item_id,
                    part=x.part,
                    period=x.period,
                    service=x.service,
                    due_date=x.due_date,
                    amount_minor=x.amount_minor,
                    paid_minor=x.paid_minor,
                    remaining_minor=x.owed_minor,
                )
                for x in (shown.lines if shown else [])
            ],
            stages=[
                StageOut(stage=e.stage, on=e.on, note=e.note, actor=e.actor)
                for e in (shown.stages if shown else [])
            ],
        )


# --- agencies --------------------------------------------------------------------------------


@router.get("/collections/agencies", response_model=list[AgencyOut])
async def list_agencies(db: Db, who: Reader) -> list[AgencyOut]:
    async with db.session() as session:
        return [AgencyOut.of(a) for a in await collections.list_agencies(session, who.actor())]


@router.post(
    "/collections/agencies",
    status_code=201,
    response_model=AgencyOut,
    responses={409: problem("an agency with this INN exists")},
)
async def add_agency(body: AgencyIn, db: Db, who: Manager) -> AgencyOut:
    async with db.session(write=True) as session:
        agency = await collections.add_agency(
            session,
            name=body.name,
            inn=body.inn,
            contacts=body.contacts,
            export_format=body.export_format,
            commission_bp=body.commission_bp,
            actor=who.actor(),
        )
        return AgencyOut.of(agency)


@router.put("/collections/agencies/{agency_id}/agent", response_model=AgencyOut)
async def link_agent(agency_id: PathId, body: AgentLinkIn, db: Db, who: Manager) -> AgencyOut:
    """The payment agent whose registry brings what the agency collected (kind 'collection')."""
    async with db.session(write=True) as session:
        return AgencyOut.of(
            await agents.link_agent(session, agency_id, body.agent_code, actor=who.actor())
        )


@router.get("/collections/agencies/{agency_id}/commission", response_model=CommissionOut)
async def commission(
    agency_id: PathId,
    db: Db,
    who: Reader,
    start: Annotated[dt.date, Query(alias="from")],
    end: Annotated[dt.date, Query(alias="to")],
) -> CommissionOut:
    """What the agency collected on its portfolio in the period and its commission: reported,
    never posted to a subscriber."""
    async with db.session() as session:
        report = await agents.commission_report(session, agency_id, start, end, actor=who.actor())
    return CommissionOut(
        agency_id=report.agency.id,
        start=report.start,
        end=report.end,
        collected_minor=report.collected_minor,
        outside_minor=report.outside_minor,
        commission_minor=report.commission_minor,
        lines=[
            CommissionLineOut(
                payment_id=x.payment_id,
                account_number=x.account_number,
                booked_on=x.booked_on,
                amount_minor=x.amount_minor,
                in_portfolio=x.in_portfolio,
                commission_minor=x.commission_minor,
            )
            for x in report.lines
        ],
    )


# --- hand-over, recall, export ---------------------------------------------------------------


@router.post("/collections/assignments", response_model=AssignmentOut)
async def handover(body: HandoverIn, db: Db, who: HandsOver) -> AssignmentOut:
    """Hand the account's overdue debt to the agency; again, only what is new (``created``
    false when nothing new was handed over)."""
    async with db.session(write=True) as session:
        account = await get_account(session, body.account_number)
        done = await collections.handover(
            session, account, body.agency_id, actor=who.actor(), as_of=clock.today()
        )
        return AssignmentOut.of(done.assignment, done.created)


@router.post("/collections/assignments/{assignment_id}/recall", response_model=AssignmentOut)
async def recall(assignment_id: PathId, db: Db, who: Recalls) -> AssignmentOut:
    async with db.session(write=True) as session:
        done = await collections.recall(
            session, assignment_id, actor=who.actor(), as_of=clock.today()
        )
        return AssignmentOut.of(done)


@router.get(
    "/collections/assignments/{assignment_id}/export",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        }
    },
)
async def export_file(assignment_id: PathId, db: Db, who: Reader) -> Response:
    """The assignment's file in its agency's format (CSV or XLSX)."""
    async with db.session() as session:
        found = await export.export_assignment(session, assignment_id, actor=who.actor())
    return Response(
        found.content,
        media_type=found.media_type,
        headers={"content-disposition": f'attachment; filename="{found.name}"'},
    )


# --- write-off -------------------------------------------------------------------------------


@router.post("/collections/write-offs", status_code=201, response_model=WriteOffOut)
async def request_write_off(body: WriteOffIn, db: Db, who: Requests) -> WriteOffOut:
    async with db.session(write=True) as session:
        account = await get_account(session, body.account_number)
        found = await collections.request_write_off(
            session, account, reason=body.reason, actor=who.actor(), as_of=clock.today()
        )
        return WriteOffOut.of(found)


@router.get("/collections/write-offs", response_model=list[WriteOffViewOut])
async def list_write_offs(
    db: Db,
    who: WriteOffReader,
    status: Annotated[
        str | None,
        Query(
            pattern="^(pending|approved|rejected)$",
            description="pending (stored status `requested`: awaiting a supervisor), approved "
            "or rejected; all when left out",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=write_offs.LIST_MAX)] = 100,
) -> list[WriteOffViewOut]:
    """Write-off requests, the nightly ladder's proposals (``system:dunning``) among them:
    pending ones oldest first with the charges an approval would write off now, decided ones
    newest first with who decided, when, and a rejection's reason."""
    async with db.session() as session:
        found = await write_offs.list_write_offs(
            session, actor=who.actor(), status=status, limit=limit
        )
        return [WriteOffViewOut.of(v) for v in found]


@router.post(
    "/collections/write-offs/{request_id}/approve",
    response_model=WriteOffOut,
    responses={
        403: problem(
            "not a supervisor (`staff.role_forbidden`), or the requester itself "
            "(`write_off_same_person`)"
        ),
        409: problem("the request was rejected: the decision stands (`write_off_decided`)"),
    },
)
async def approve_write_off(request_id: PathId, db: Db, who: Approves) -> WriteOffOut:
    """A supervisor's approval posts the write-off through the ledger, once (approving again
    answers the same entry); who asked may not approve (``write_off_same_person``)."""
    async with db.session(write=True) as session:
        found = await collections.approve_write_off(
            session, request_id, actor=who.actor(), as_of=clock.today()
        )
        return WriteOffOut.of(found)


@router.post(
    "/collections/write-offs/{request_id}/reject",
    response_model=WriteOffViewOut,
    responses={
        403: problem("not a supervisor (`staff.role_forbidden`)"),
        409: problem("already approved or rejected (`write_off_decided`)"),
    },
)
async def reject_write_off(
    request_id: PathId, body: WriteOffRejectIn, db: Db, who: Rejects
) -> WriteOffViewOut:
    """A supervisor refuses the write-off with a reason: nothing is posted, the debt stays owed;
    the reason, who and when are in the audit trail."""
    async with db.session(write=True) as session:
        await write_offs.reject_write_off(
            session, request_id, reason=body.reason, actor=who.actor()
        )
        view = await write_offs.get_write_off(session, request_id, actor=who.actor())
        return WriteOffViewOut.of(view)


# --- dashboards ------------------------------------------------------------------------------


@router.get("/collections/dashboards/{name}", response_model=SeriesOut)
async def dashboard_series(
    name: Annotated[str, Path(pattern="^[a-z_]{1,32}$")], db: Db, who: Viewer
) -> SeriesOut:
    """A series: ``ageing``, ``services``, ``ladder``, ``collected`` (this month, by
    channel) or ``agencies``."""
    async with db.session() as session:
        found = await dashboard.series(session, name, actor=who.actor())
    return SeriesOut(
        name=found.name,
        title=found.title,
        count_label=found.count_label,
        total_minor=found.total_minor,
        rows=[
            SeriesRowOut(
                label=r.label, amount_minor=r.amount_minor, count=r.count, extra_minor=r.extra_minor
            )
            for r in found.rows
        ],
    )


# --- court -----------------------------------------------------------------------------------


@router.post(
    "/court/cases",
    status_code=201,
    response_model=CaseOut,
    tags=["court"],
    responses={409: problem("the account has a case still with the court")},
)
async def build_case(body: CaseIn, db: Db, who: Preparer) -> CaseOut:
    """Build the court-order application for a debt past the agency stage; its calculation is
    kept, so the PDF reads the same on any later day."""
    async with db.session(write=True) as session:
        account = await get_account(session, body.account_number)
        case = await court.build_package(
            session, account, actor=who.actor(), as_of=body.as_of or clock.today()
        )
        return CaseOut.of(case, await court.view(session, case.id, actor=who.actor()))


@router.get("/court/cases", response_model=list[CaseOut], tags=["court"])
async def list_cases(
    db: Db,
    who: Preparer,
    stage: Annotated[str | None, Query(pattern="^[a-z_]{1,16}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CaseOut]:
    async with db.session() as session:
        found = await court.list_cases(session, actor=who.actor(), stage=stage, limit=limit)
        return [CaseOut.of(c) for c in found]


@router.get("/court/cases/{case_id}", response_model=CaseOut, tags=["court"])
async def show_case(case_id: PathId, db: Db, who: Preparer) -> CaseOut:
    async with db.session() as session:
        shown = await court.view(session, case_id, actor=who.actor())
        return CaseOut.of(shown.case, shown)


@router.get(
    "/court/cases/{case_id}/application.pdf",
    response_class=Response,
    tags=["court"],
    responses={200: {"content": {"application/pdf": {}}}},
)
async def case_pdf(case_id: PathId, db: Db, who: Preparer) -> Response:
    """The application draft; it names the debtor's passport, so each download is an audited
    reveal."""
    async with db.session(write=True) as session:
        pdf = await package.render(session, case_id, actor=who.actor())
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="court-case-{case_id}.pdf"'},
    )


@router.post("/court/cases/{case_id}/stages", response_model=CaseOut, tags=["court"])
async def record_stage(case_id: PathId, body: StageIn, db: Db, who: Preparer) -> CaseOut:
    """Record what the court did: filed, order_issued, cancelled, enforced, refused, withdrawn."""
    async with db.session(write=True) as session:
        case = await court.record_stage(
            session,
            case_id,
            body.stage,
            actor=who.actor(),
            on=body.on or clock.today(),
            note=body.note,
        )
        return CaseOut.of(case, await court.view(session, case.id, actor=who.actor()))
