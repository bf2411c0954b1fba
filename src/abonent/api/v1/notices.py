"""``/v1/public/notices``: anyone with a debt SMS checks it and reports a suspicious one;
``/v1/staff/notices``: the hotline's check and the reports with their counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from abonent.api.deps import client_of, database_of
from abonent.api.staff_deps import require_staff
from abonent.api.v1.responses import RATE_LIMITED
from abonent.notices import service as notices
from abonent.notices.schemas import (
    CountOut,
    ReportIn,
    ReportLine,
    ReportOut,
    ReportsOut,
    VerifyIn,
    VerifyOut,
)
from abonent.staff.principal import StaffPrincipal

router = APIRouter(tags=["notices"], responses=RATE_LIMITED)
# The service's own list (notices.READ_ROLES), so the API and the console cannot drift apart.
Reader = Annotated[StaffPrincipal, Depends(require_staff(*sorted(notices.READ_ROLES)))]
REPORTED = "Спасибо: сообщение передано в службу безопасности. Не переходите по ссылкам из него."


def _out(found: notices.Verification) -> VerifyOut:
    return VerifyOut(
        genuine=found.genuine,
        message=found.message,
        sent_on=found.sent_on,
        amount_minor=found.amount_minor,
        due_date=found.due_date,
    )


@router.post("/public/notices/verify", response_model=VerifyOut)
async def verify(body: VerifyIn, request: Request) -> VerifyOut:
    """Genuine ("sent on …, amount …") or not ours; rate-limited per client address (429)."""
    async with database_of(request).session(write=True) as session:
        found = await notices.verify(
            session, body.code, body.account_last4, client_key=f"ip:{client_of(request)}"
        )
    return _out(found)


@router.post("/public/notices/report", response_model=ReportOut, status_code=201)
async def report(body: ReportIn, request: Request) -> ReportOut:
    async with database_of(request).session(write=True) as session:
        row = await notices.report(
            session,
            sender=body.sender,
            text=body.text,
            channel="api",
            client_key=f"ip:{client_of(request)}",
        )
    return ReportOut(id=row.id, message=REPORTED)


@router.post("/staff/notices/verify", response_model=VerifyOut)
async def staff_verify(body: VerifyIn, request: Request, who: Reader) -> VerifyOut:
    """The hotline's check of a notice a caller reads out: the same answer as the public one."""
    async with database_of(request).session(write=True) as session:
        found = await notices.verify(
            session, body.code, body.account_last4, client_key=f"staff:{who.staff_id}"
        )
    return _out(found)


@router.get("/staff/notices/reports", response_model=ReportsOut)
async def reports(request: Request, who: Reader) -> ReportsOut:
    async with database_of(request).session() as session:
        summary = await notices.reports_summary(session, actor=who.actor())
    return ReportsOut(
        total=summary.total,
        by_sender=[CountOut(value=v, count=n) for v, n in summary.by_sender],
        by_text=[CountOut(value=v, count=n) for v, n in summary.by_text],
        recent=[
            ReportLine(
                id=r.id, sender=r.sender, text=r.text, channel=r.channel, reported_at=r.reported_at
            )
            for r in summary.recent
        ],
    )
