"""``/console/dashboards``, ``/console/court`` and ``/console/write-offs``: the collections
team's pages.

The dashboards draw each series of ``collections.dashboard`` server-side as SVG (kit/charts.py),
with the numbers beside every chart and a CSV of each. The court pages are the console's button
for ``abonent court package``: build the application for an account, print it, record what the
court did. The write-off page lists the requests (the nightly ladder's proposals among them);
a supervisor approves or rejects each with a reason, the other roles that may see it only read.
Each request is one unit of work; a refusal is a page with its stable code.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from abonent.accounts import service as accounts
from abonent.api.deps import database_of
from abonent.collections import dashboard, write_offs
from abonent.collections import service as collections
from abonent.court import package
from abonent.court import service as court
from abonent.kit import clock
from abonent.kit.charts import bar_chart_svg
from abonent.kit.errors import AbonentError
from abonent.kit.money import format_money
from abonent.models import CourtCase
from abonent.staff.principal import StaffPrincipal
from abonent.web.console.people import refused, typed_date
from abonent.web.console.session import PREFIX, checked_form, console_may, field, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Viewer = Annotated[StaffPrincipal, Depends(console_may("collections.dashboard"))]
Preparer = Annotated[StaffPrincipal, Depends(console_may("court.prepare"))]
WriteOffReader = Annotated[StaffPrincipal, Depends(console_may("write_off.read"))]
Approver = Annotated[StaffPrincipal, Depends(console_may("write_off.approve"))]
Rejecter = Annotated[StaffPrincipal, Depends(console_may("write_off.reject"))]
CaseId = Annotated[int, Path(ge=1, le=2**62)]
RequestId = Annotated[int, Path(ge=1, le=2**62)]
WRITE_OFF_TABS = (
    ("pending", "Ждут решения"),
    ("approved", "Списаны"),
    ("rejected", "Отклонены"),
    ("all", "Все"),
)


def _day(raw: str) -> dt.date:
    return typed_date(raw, what="date", code="console.date") or clock.today()


# --- dashboards ------------------------------------------------------------------------------


@router.get("/dashboards", response_class=HTMLResponse)
async def dashboards(request: Request, principal: Viewer) -> HTMLResponse:
    actor = principal.actor()

    async def unit(session: AsyncSession) -> list[dashboard.Series]:
        return await dashboard.all_series(session, actor=actor)

    found = await database_of(request).run(unit)
    return render(
        request,
        "console/collections/dashboards.html",
        {"series": found, "money": format_money},
        principal=principal,
    )


async def _series(request: Request, principal: StaffPrincipal, name: str) -> dashboard.Series:
    actor = principal.actor()

    async def unit(session: AsyncSession) -> dashboard.Series:
        return await dashboard.series(session, name, actor=actor)

    return await database_of(request).run(unit)


@router.get("/dashboards/{name}.svg")
async def dashboard_svg(request: Request, principal: Viewer, name: str) -> Response:
    try:
        found = await _series(request, principal, name)
    except AbonentError as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/dashboards")
    svg = await run_in_threadpool(
        bar_chart_svg,
        found.title,
        [r.label for r in found.rows],
        [r.amount_minor / 100 for r in found.rows],  # drawing only: the numbers are beside
        [format_money(r.amount_minor) for r in found.rows],
    )
    return Response(svg, media_type="image/svg+xml")


@router.get("/dashboards/{name}.csv")
async def dashboard_csv(request: Request, principal: Viewer, name: str) -> Response:
    try:
        found = await _series(request, principal, name)
    except AbonentError as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/dashboards")
    filename = f"{found.name}-{clock.today():%Y-%m-%d}.csv"
    return Response(
        dashboard.to_csv(found).encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


# --- court -----------------------------------------------------------------------------------


@router.get("/court", response_class=HTMLResponse)
async def court_page(request: Request, principal: Preparer) -> HTMLResponse:
    actor = principal.actor()

    async def unit(session: AsyncSession) -> list[CourtCase]:
        return list(await court.list_cases(session, actor=actor, limit=50))

    cases = await database_of(request).run(unit)
    return render(
        request,
        "console/collections/court.html",
        {
            "cases": cases,
            "labels": court.STAGE_LABELS,
            "money": format_money,
            "today": clock.today(),
        },
        principal=principal,
    )


@router.post("/court/package")
async def court_package(request: Request, principal: Preparer) -> Response:
    form = await checked_form(request)
    number = field(form, "account", 40).strip()
    actor = principal.actor()
    try:
        as_of = _day(field(form, "as_of", 16))

        async def unit(session: AsyncSession) -> int:
            account = await accounts.get_account(session, number)
            case = await court.build_package(session, account, actor=actor, as_of=as_of)
            return case.id

        case_id = await database_of(request).run(unit)
    except AbonentError as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/court")
    return RedirectResponse(f"{PREFIX}/court/{case_id}", status_code=303)


@router.get("/court/{case_id}", response_class=HTMLResponse)
async def court_case(request: Request, principal: Preparer, case_id: CaseId) -> HTMLResponse:
    actor = principal.actor()

    async def unit(session: AsyncSession) -> tuple[court.CaseView, str]:
        shown = await court.view(session, case_id, actor=actor)
        number = await court.account_number(session, shown.case)
        return shown, number

    try:
        shown, number = await database_of(request).run(unit)
    except AbonentError as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/court")
    return render(
        request,
        "console/collections/case.html",
        {
            "shown": shown,
            "number": number,
            "labels": court.STAGE_LABELS,
            "next": sorted(court.NEXT.get(shown.case.stage, ())),
            "money": format_money,
            "today": clock.today(),
        },
        principal=principal,
    )


@router.get("/court/{case_id}/application.pdf")
async def court_pdf(request: Request, principal: Preparer, case_id: CaseId) -> Response:
    actor = principal.actor()

    async def unit(session: AsyncSession) -> bytes:
        return await package.render(session, case_id, actor=actor)

    try:
        pdf = await database_of(request).run(unit)
    except AbonentError as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/court")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="court-case-{case_id}.pdf"'},
    )


@router.post("/court/{case_id}/stage")
async def court_stage(request: Request, principal: Preparer, case_id: CaseId) -> Response:
    form = await checked_form(request)
    actor = principal.actor()
    back = f"{PREFIX}/court/{case_id}"
    try:
        on = _day(field(form, "on", 16))
        stage = field(form, "stage", 16)
        note = field(form, "note", 501)

        async def unit(session: AsyncSession) -> None:
            await court.record_stage(session, case_id, stage, actor=actor, on=on, note=note)

        await database_of(request).run(unit)
    except AbonentError as exc:
        return refused(request, principal, exc, back=back)
    return RedirectResponse(back, status_code=303)


# --- write-offs ------------------------------------------------------------------------------


def proposer(actor: str | None) -> str:
    """Who an actor name is, as staff read it: the ladder, an employee's login, or as stored."""
    if not actor:
        return "—"
    if actor.startswith("system:dunning"):
        return "лестница взыскания (автоматически)"
    parts = actor.split(":")
    if len(parts) == 3 and parts[0] == "staff":
        return parts[2]
    return actor


@router.get("/write-offs", response_class=HTMLResponse)
async def write_offs_page(
    request: Request,
    principal: WriteOffReader,
    # Plain text, checked by the service: a bad value gets the console's refusal page, not the
    # JSON API's validation answer.
    status: str = "pending",
    decided: str = "",
) -> HTMLResponse:
    actor = principal.actor()
    wanted = None if status == "all" else status
    just_decided = int(decided) if decided.isdigit() and len(decided) < 19 else None

    async def unit(session: AsyncSession) -> list[write_offs.WriteOffView]:
        return await write_offs.list_write_offs(session, actor=actor, status=wanted)

    try:
        views = await database_of(request).run(unit)
    except AbonentError as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/write-offs")
    return render(
        request,
        "console/collections/write_offs.html",
        {
            "views": views,
            "status": status,
            "tabs": WRITE_OFF_TABS,
            "decided": just_decided,
            "proposer": proposer,
            "kind_label": accounts.service_kind_label,
            "reason_max": write_offs.REASON_MAX,
        },
        principal=principal,
    )


@router.post("/write-offs/{request_id}/approve")
async def write_off_approve(
    request: Request, principal: Approver, request_id: RequestId
) -> Response:
    await checked_form(request)
    actor = principal.actor()

    async def unit(session: AsyncSession) -> None:
        await collections.approve_write_off(session, request_id, actor=actor, as_of=clock.today())

    try:
        await database_of(request).run(unit)
    except AbonentError as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/write-offs")
    return RedirectResponse(
        f"{PREFIX}/write-offs?status=approved&decided={request_id}", status_code=303
    )


@router.post("/write-offs/{request_id}/reject")
async def write_off_reject(
    request: Request, principal: Rejecter, request_id: RequestId
) -> Response:
    form = await checked_form(request)
    # One over the limit, so that a longer reason is refused as too long, never cut short.
    reason = field(form, "reason", write_offs.REASON_MAX + 1)
    actor = principal.actor()

    async def unit(session: AsyncSession) -> None:
        await write_offs.reject_write_off(session, request_id, reason=reason, actor=actor)

    try:
        await database_of(request).run(unit)
    except AbonentError as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/write-offs")
    return RedirectResponse(
        f"{PREFIX}/write-offs?status=rejected&decided={request_id}", status_code=303
    )
