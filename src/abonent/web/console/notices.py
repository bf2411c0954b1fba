"""Console pages of debt notices: the hotline's check of an SMS a caller reads out, the
suspicious-SMS reports with their counts, and a customer's contact log and blocks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.api.deps import database_of
from abonent.contact import service as contact
from abonent.kit import clock
from abonent.kit.errors import AbonentError
from abonent.models import ContactBlock, ContactLogEntry
from abonent.notices import service as notices
from abonent.staff.principal import StaffPrincipal
from abonent.throttle.errors import RateLimited
from abonent.web.console.people import refused
from abonent.web.console.session import PREFIX, checked_form, console_staff, field, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Reader = Annotated[
    StaffPrincipal, Depends(console_staff("hotline", "clerk", "supervisor", "collections", "admin"))
]
CustomerId = Annotated[int, Path(ge=1, le=2**62)]
VERDICTS = {
    "sent": "отправлено",
    "deferred": "отложено",
    "blocked": "запрет",
    "cancelled": "отменено",
}
REASONS = {
    "allowed": "разрешено",
    "cap_day": "лимит в сутки",
    "cap_week": "лимит в неделю",
    "cap_month": "лимит в месяц",
    "quiet_hours": "нерабочее время",
    "bankruptcy": "банкротство",
    "deceased": "смерть",
    "court_ban": "запрет суда",
    "nothing_to_say": "долг погашен",
    "template_refused": "шаблон уведомления отклонён проверкой",
}
KINDS = {"bankruptcy": "банкротство", "deceased": "смерть", "court_ban": "запрет суда"}


@router.get("/notices/verify", response_class=HTMLResponse)
async def verify_page(request: Request, principal: Reader) -> HTMLResponse:
    return render(
        request,
        "console/notice_verify.html",
        {"result": None, "code": "", "last4": ""},
        principal=principal,
    )


@router.post("/notices/verify", response_class=HTMLResponse)
async def verify(request: Request, principal: Reader) -> HTMLResponse:
    form = await checked_form(request)
    code, last4 = field(form, "code", 16), field(form, "last4", 8)

    async def work(session: AsyncSession) -> notices.Verification:
        return await notices.verify(session, code, last4, client_key=f"staff:{principal.staff_id}")

    try:
        found = await database_of(request).run(work)
    except (RateLimited, AbonentError) as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/notices/verify")
    return render(
        request,
        "console/notice_verify.html",
        {"result": found, "code": code, "last4": last4},
        principal=principal,
    )


@router.post("/notices/report", response_class=HTMLResponse)
async def report(request: Request, principal: Reader) -> HTMLResponse:
    """A caller reads out an SMS they think is not ours: the hotline records it for the list."""
    form = await checked_form(request)
    sender, text = field(form, "sender", 64), field(form, "text", 1200)

    async def work(session: AsyncSession) -> None:
        await notices.report(
            session,
            sender=sender,
            text=text,
            channel="hotline",
            client_key=f"staff:{principal.staff_id}",
        )

    try:
        await database_of(request).run(work)
    except (RateLimited, AbonentError) as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/notices/verify")
    return render(
        request,
        "console/notice_verify.html",
        {"result": None, "code": "", "last4": "", "reported": True},
        principal=principal,
    )


@router.get("/notices/reports", response_class=HTMLResponse)
async def reports(request: Request, principal: Reader) -> HTMLResponse:
    async with database_of(request).session() as session:
        summary = await notices.reports_summary(session, actor=principal.actor())
    return render(request, "console/notice_reports.html", {"summary": summary}, principal=principal)


@router.get("/contact-log", response_class=HTMLResponse)
async def contact_log(
    request: Request,
    principal: Reader,
    verdict: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """Every debt contact the gate decided, newest first, with the last day's counts by
    decision and reason: what went, what waits and why, across customers."""
    wanted = verdict if verdict in VERDICTS else None
    since = clock.now() - dt.timedelta(days=1)
    async with database_of(request).session() as session:
        actor = principal.actor()
        log = await contact.contact_log(session, actor=actor, verdict=wanted)
        counts = await contact.decision_counts(session, actor=actor, since=since)
    return render(
        request,
        "console/contact_log.html",
        {
            "log": log,
            "counts": counts,
            "verdict": wanted,
            "verdicts": VERDICTS,
            "reasons": REASONS,
        },
        principal=principal,
    )


@router.get("/customers/{customer_id}/contact", response_class=HTMLResponse)
async def customer_contact(
    request: Request, customer_id: CustomerId, principal: Reader
) -> HTMLResponse:
    async def work(session: AsyncSession) -> tuple[list[ContactBlock], list[ContactLogEntry]]:
        actor = principal.actor()
        blocks = await contact.blocks_of(session, customer_id, actor=actor)
        log = await contact.contact_log(session, actor=actor, customer_id=customer_id)
        return blocks, log

    try:
        async with database_of(request).session() as session:
            blocks, log = await work(session)
    except AbonentError as exc:
        return refused(request, principal, exc)
    return render(
        request,
        "console/customer_contact.html",
        {
            "customer_id": customer_id,
            "blocks": blocks,
            "log": log,
            "verdicts": VERDICTS,
            "reasons": REASONS,
            "kinds": KINDS,
            "may_block": principal.role in contact.ROLES["contact.block"],
        },
        principal=principal,
    )


@router.post("/customers/{customer_id}/contact/block")
async def block(request: Request, customer_id: CustomerId, principal: Reader) -> Response:
    """Bankruptcy filed, a death, a court's ban: no debt contact at all while the block holds."""
    form = await checked_form(request)
    kind, reason = field(form, "kind", 16), field(form, "reason", 600)
    back = f"{PREFIX}/customers/{customer_id}/contact"

    async def work(session: AsyncSession) -> None:
        await contact.set_block(
            session, customer_id, kind=kind, reason=reason, actor=principal.actor()
        )

    try:
        await database_of(request).run(work)
    except AbonentError as exc:
        return refused(request, principal, exc, back=back)
    return RedirectResponse(back, status_code=303)


@router.post("/customers/{customer_id}/contact/blocks/{block_id}/lift")
async def lift(
    request: Request, customer_id: CustomerId, block_id: CustomerId, principal: Reader
) -> Response:
    await checked_form(request)
    back = f"{PREFIX}/customers/{customer_id}/contact"

    async def work(session: AsyncSession) -> None:
        await contact.lift_block(session, block_id, actor=principal.actor())

    try:
        await database_of(request).run(work)
    except AbonentError as exc:
        return refused(request, principal, exc, back=back)
    return RedirectResponse(back, status_code=303)
