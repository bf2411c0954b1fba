"""``/console``: find a person, check their document, see every account, act on them, audit.

Every page calls ``people.service`` (which holds the rules: the role table, the identity check
that opens a person to one employee for a limited time, masking by role, the audit of every look
and action) in one unit of work of its own. A refusal is a page in Russian with its stable code.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from abonent.api.deps import database_of
from abonent.kit.errors import AbonentError, InvalidInput
from abonent.kit.inputs import MAX_AMOUNT_MINOR
from abonent.kit.money import parse_amount
from abonent.people import desk
from abonent.people import service as people
from abonent.people.schemas import AuditLine, PersonHit, PersonView
from abonent.promised.schemas import Offer
from abonent.staff.principal import StaffPrincipal
from abonent.staff.roles import may
from abonent.web.console.messages import words_for
from abonent.web.console.session import PREFIX, checked_form, console_may, field, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Finder = Annotated[StaffPrincipal, Depends(console_may("people.find"))]
PersonId = Annotated[int, Path(ge=1, le=2**62)]
SEARCH_KEYS = ("passport", "msisdn", "account", "contract", "smart_card", "surname")
_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")


def refused(
    request: Request,
    principal: StaffPrincipal,
    exc: AbonentError,
    *,
    back: str = PREFIX,
    title: str | None = None,
) -> HTMLResponse:
    """A refusal as a page: the Russian words, the stable code, and nothing changed."""
    status = exc.status if 400 <= exc.status < 500 else 422
    return render(
        request,
        "console/error.html",
        {"message": words_for(exc), "code": exc.code, "back": back, "title": title},
        principal=principal,
        status_code=status,
    )


def _said(exc: AbonentError) -> str:
    return f"{words_for(exc)} Ничего не изменено (код: {exc.code})."


def typed_date(
    raw: str, *, what: str = "birth date", code: str = "console.birth_date"
) -> dt.date | None:
    """A date as staff type it, DD.MM.YYYY (or YYYY-MM-DD); None when left empty."""
    raw = raw.strip()
    if not raw:
        return None
    match = _DATE.match(raw)
    try:
        if match:
            return dt.date(int(match[3]), int(match[2]), int(match[1]))
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{what}: DD.MM.YYYY", code=code) from None


@router.get("", response_class=HTMLResponse)
async def search_page(request: Request, principal: Finder) -> HTMLResponse:
    return render(request, "console/search.html", {"hits": None}, principal=principal)


@router.post("/search", response_class=HTMLResponse)
async def search(request: Request, principal: Finder) -> HTMLResponse:
    """A search is a POST: a passport typed in never sits in a URL, a history or an access log."""
    form = await checked_form(request)
    by = field(form, "by", 16)
    if by not in SEARCH_KEYS:
        by = "passport"
    value = field(form, by, 64).strip()
    chip = field(form, "chip_id", 64).strip()
    birth = field(form, "birth_date", 16)
    try:
        birth_date = typed_date(birth) if by == "surname" else None
        query: dict[str, Any] = {by: value or None}
        if by == "smart_card":
            query["chip_id"] = chip or None
        if by == "surname":
            query["birth_date"] = birth_date

        async def unit(session: AsyncSession) -> list[PersonHit]:
            return await people.find(session, principal, **query)

        hits = await database_of(request).run(unit)
    except AbonentError as exc:
        return refused(request, principal, exc, title="Поиск не выполнен")
    return render(
        request,
        "console/search.html",
        {"hits": hits, "by": by},
        principal=principal,
    )


# --- the identity check ----------------------------------------------------------------------

Checker = Annotated[StaffPrincipal, Depends(console_may("people.check"))]
Viewer = Annotated[StaffPrincipal, Depends(console_may("people.view"))]
DOCUMENT_TYPES = {"passport_ru": "Паспорт гражданина РФ"}
CHANNELS = {
    "desk": "В офисе (документ предъявлен)",
    "phone": "По телефону (данные назвал звонящий)",
}


async def _check_page(
    request: Request,
    principal: StaffPrincipal,
    person_id: int,
    *,
    result: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        hit = await database_of(request).run(lambda s: desk.pick(s, principal, person_id))
    except AbonentError as exc:
        return refused(request, principal, exc)
    return render(
        request,
        "console/check.html",
        {
            "hit": hit,
            "result": result,
            "error": error,
            "document_types": DOCUMENT_TYPES,
            "channels": CHANNELS,
            "default_channel": "phone" if principal.role == "hotline" else "desk",
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/people/{person_id}/check", response_class=HTMLResponse)
async def check_form(request: Request, person_id: PersonId, principal: Checker) -> HTMLResponse:
    return await _check_page(request, principal, person_id)


@router.post("/people/{person_id}/check", response_class=HTMLResponse)
async def check(request: Request, person_id: PersonId, principal: Checker) -> Response:
    """Match the typed document against the stored hash; a match opens the person to this
    employee for the time the service sets, a no-match opens and shows nothing."""
    form = await checked_form(request)

    async def unit(session: AsyncSession) -> str:
        outcome = await people.identity_check(
            session,
            principal,
            person_id,
            document_type=field(form, "document_type", 32),
            series_number=field(form, "series_number", 32),
            purpose=field(form, "purpose", 300),
            channel=field(form, "channel", 8),
        )
        return outcome.result

    try:
        result = await database_of(request).run(unit)
    except AbonentError as exc:
        return await _check_page(request, principal, person_id, error=_said(exc), status_code=422)
    if result == "match":
        return RedirectResponse(f"{PREFIX}/people/{person_id}", status_code=303)
    return await _check_page(request, principal, person_id, result="no_match")


# --- the person page -------------------------------------------------------------------------

DONE = {
    "sms": "SMS с реквизитами поставлено в очередь на номер из карточки абонента.",
    "payment": "Платёж принят и зачтён на лицевой счёт.",
    "payment_repeat": (
        "Этот платёж уже был принят (форма отправлена повторно): второй раз не проведён."
    ),
    "promised": "Обещанный платёж подключён.",
}


@dataclass
class AccountExtras:
    history: list[desk.HistoryLine]
    offer: Offer | None = None
    offer_refusal: str | None = None
    form_key: str = dc_field(default_factory=lambda: secrets.token_hex(16))


@dataclass
class PersonPage:
    view: PersonView
    extras: dict[str, AccountExtras]


async def _load_person(
    session: AsyncSession, principal: StaffPrincipal, person_id: int
) -> PersonPage:
    view = await people.view(session, principal, person_id)
    extras: dict[str, AccountExtras] = {}
    for account in view.accounts:
        item = AccountExtras(
            await desk.account_history(session, principal, person_id, account.number)
        )
        if may_promised(principal) and account.status != "closed":
            try:
                item.offer = await desk.promised_offer(
                    session, principal, person_id, account.number
                )
            except AbonentError as exc:
                item.offer_refusal = exc.detail or words_for(exc)
        extras[account.number] = item
    return PersonPage(view, extras)


def may_promised(principal: StaffPrincipal) -> bool:
    return may(principal.role, "people.promised")


async def _person_page(
    request: Request,
    principal: StaffPrincipal,
    person_id: int,
    *,
    done: str | None = None,
    error: str | None = None,
    revealed: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        page = await database_of(request).run(lambda s: _load_person(s, principal, person_id))
    except AbonentError as exc:
        back = (
            f"{PREFIX}/people/{person_id}/check" if exc.code == "people.check_required" else PREFIX
        )
        return refused(request, principal, exc, back=back, title="Данные закрыты")
    return render(
        request,
        "console/person.html",
        {
            "person": page.view,
            "extras": page.extras,
            "done": DONE.get(done or ""),
            "error": error,
            "revealed": revealed,
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/people/{person_id}", response_class=HTMLResponse)
async def person(
    request: Request, person_id: PersonId, principal: Viewer, done: str | None = None
) -> HTMLResponse:
    return await _person_page(request, principal, person_id, done=done)


def _back_to(person_id: int, done: str) -> RedirectResponse:
    # After a change, a redirect (POST-redirect-GET): reloading the page repeats nothing.
    return RedirectResponse(f"{PREFIX}/people/{person_id}?done={done}", status_code=303)


@router.post("/people/{person_id}/reveal", response_class=HTMLResponse)
async def reveal(
    request: Request,
    person_id: PersonId,
    principal: Annotated[StaffPrincipal, Depends(console_may("people.reveal"))],
) -> HTMLResponse:
    form = await checked_form(request)
    reason = field(form, "reason", 600)
    try:
        passport = await database_of(request).run(
            lambda s: people.reveal(s, principal, person_id, reason=reason)
        )
    except AbonentError as exc:
        return await _person_page(request, principal, person_id, error=_said(exc), status_code=422)
    return await _person_page(
        request, principal, person_id, revealed=passport or "паспорт не записан"
    )


@router.post("/people/{person_id}/sms-details", response_class=HTMLResponse)
async def sms_details(
    request: Request,
    person_id: PersonId,
    principal: Annotated[StaffPrincipal, Depends(console_may("people.sms"))],
) -> Response:
    form = await checked_form(request)
    number = field(form, "account_number", 32)
    try:
        await database_of(request).run(
            lambda s: people.send_details(s, principal, person_id, number)
        )
    except AbonentError as exc:
        return await _person_page(request, principal, person_id, error=_said(exc), status_code=422)
    return _back_to(person_id, "sms")


@router.get("/people/{person_id}/statement-of-debt.pdf")
async def statement_of_debt(
    request: Request,
    person_id: PersonId,
    principal: Annotated[StaffPrincipal, Depends(console_may("people.statement_pdf"))],
) -> Response:
    try:
        pdf = await database_of(request).run(
            lambda s: people.statement_of_debt(s, principal, person_id)
        )
    except AbonentError as exc:
        return refused(request, principal, exc, back=f"{PREFIX}/people/{person_id}")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="spravka-{person_id}.pdf"'},
    )


_FORM_KEY = re.compile(r"^[0-9a-f]{32}$")


def _amount(raw: str) -> int:
    amount = parse_amount(raw.replace("\u00a0", "").replace(" ", ""))
    if amount <= 0 or amount > MAX_AMOUNT_MINOR:
        raise InvalidInput("amount must be positive", code="amount_not_positive")
    return amount


@router.post("/people/{person_id}/payments", response_class=HTMLResponse)
async def desk_payment(
    request: Request,
    person_id: PersonId,
    principal: Annotated[StaffPrincipal, Depends(console_may("people.payment"))],
) -> Response:
    """A payment at the desk. The form carries its own key: a second submit of the same form
    finds the payment the first one booked (receipt ``staff<id>:<key>``) and books nothing."""
    form = await checked_form(request)
    number = field(form, "account_number", 32)
    key = field(form, "form_key", 64)
    try:
        if not _FORM_KEY.match(key):
            raise InvalidInput("the form key is missing", code="console.form_key")
        amount = _amount(field(form, "amount", 32))
        booked = await database_of(request).run(
            lambda s: people.take_payment(
                s, principal, person_id, account_number=number, amount_minor=amount, receipt=key
            )
        )
    except AbonentError as exc:
        return await _person_page(request, principal, person_id, error=_said(exc), status_code=422)
    return _back_to(person_id, "payment" if booked.created else "payment_repeat")


@router.post("/people/{person_id}/promised-payment", response_class=HTMLResponse)
async def take_promised(
    request: Request,
    person_id: PersonId,
    principal: Annotated[StaffPrincipal, Depends(console_may("people.promised"))],
) -> Response:
    """One promised payment at a time per account is the service's rule: a resubmit is refused."""
    form = await checked_form(request)
    number = field(form, "account_number", 32)
    raw = field(form, "amount_minor", 20)
    try:
        if not raw.isdigit():
            raise InvalidInput("choose an amount", code="amount_malformed")
        amount = int(raw)
        await database_of(request).run(
            lambda s: people.take_promised(
                s, principal, person_id, account_number=number, amount_minor=amount
            )
        )
    except AbonentError as exc:
        return await _person_page(request, principal, person_id, error=_said(exc), status_code=422)
    return _back_to(person_id, "promised")


# --- the supervisor's audit of a person ------------------------------------------------------

ACTIONS = {
    "people.identity_check": "проверка документа",
    "people.view": "просмотр данных",
    "people.passport_reveal": "показ паспорта полностью",
    "people.statement_of_debt": "справка о задолженности (PDF)",
    "people.sms_details": "реквизиты по SMS",
    "people.payment": "платёж в офисе",
    "people.promised": "обещанный платёж",
}


@router.get("/people/{person_id}/audit", response_class=HTMLResponse)
async def person_audit(
    request: Request,
    person_id: PersonId,
    principal: Annotated[StaffPrincipal, Depends(console_may("people.audit"))],
) -> HTMLResponse:
    """Who looked at this person, when, why."""

    async def unit(session: AsyncSession) -> tuple[PersonHit, list[AuditLine]]:
        return (
            await desk.pick(session, principal, person_id),
            await people.audit_trail(session, principal, person_id),
        )

    try:
        hit, lines = await database_of(request).run(unit)
    except AbonentError as exc:
        return refused(request, principal, exc)
    return render(
        request,
        "console/audit.html",
        {"hit": hit, "lines": lines, "actions": ACTIONS},
        principal=principal,
    )
