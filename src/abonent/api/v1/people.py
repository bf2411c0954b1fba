"""``/v1/people``: find a person, check their identity, then see and act on their accounts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.api.deps import Db
from abonent.api.idempotency import IdempotencyKeyHeader, Reply, json_reply, run_idempotent
from abonent.api.staff_deps import require_staff
from abonent.api.v1.payments import payment_out
from abonent.api.v1.responses import PROBLEMS, problem
from abonent.kit.inputs import PositiveMinor, Reason, Text
from abonent.payments import idempotency as idem
from abonent.payments.schemas import PaymentOut
from abonent.people import service as people
from abonent.people.schemas import AuditLine, CheckResult, PersonHit, PersonView
from abonent.promised.schemas import PromisedOut
from abonent.staff.principal import StaffPrincipal

router = APIRouter(tags=["people"], responses=PROBLEMS)
Staff = Annotated[StaffPrincipal, Depends(require_staff())]
PersonId = Annotated[int, Path(ge=1, le=2**62)]
_Q = Query(max_length=64)


class CheckIn(BaseModel):
    document_type: Literal["passport_ru"]
    series_number: Annotated[str, Text(32, min_length=1)]
    purpose: Reason
    channel: Literal["desk", "phone"]


class RevealIn(BaseModel):
    reason: Reason


class RevealOut(BaseModel):
    passport: str | None


@router.get("/people", response_model=list[PersonHit])
async def find_people(
    db: Db,
    principal: Staff,
    passport: Annotated[str | None, _Q] = None,
    msisdn: Annotated[str | None, _Q] = None,
    account: Annotated[str | None, _Q] = None,
    contract: Annotated[str | None, _Q] = None,
    smart_card: Annotated[str | None, _Q] = None,
    chip_id: Annotated[str | None, _Q] = None,
    surname: Annotated[str | None, _Q] = None,
    birth_date: Annotated[dt.date | None, Query()] = None,
) -> list[PersonHit]:
    """Masked hits: enough to pick the right person before the identity check."""

    async def unit(session: AsyncSession) -> list[PersonHit]:
        return await people.find(
            session,
            principal,
            passport=passport,
            msisdn=msisdn,
            account=account,
            contract=contract,
            smart_card=smart_card,
            chip_id=chip_id,
            surname=surname,
            birth_date=birth_date,
        )

    return await db.run(unit)


@router.post(
    "/people/{person_id}/identity-checks",
    response_model=CheckResult,
    responses={404: problem("no such person")},
)
async def identity_check(
    person_id: PersonId, body: CheckIn, db: Db, principal: Staff
) -> CheckResult:
    """Match the document the person shows or reads out against the stored hash."""

    async def unit(session: AsyncSession) -> CheckResult:
        return await people.identity_check(
            session,
            principal,
            person_id,
            document_type=body.document_type,
            series_number=body.series_number,
            purpose=body.purpose,
            channel=body.channel,
        )

    return await db.run(unit)


@router.get(
    "/people/{person_id}",
    response_model=PersonView,
    responses={403: problem("no passed identity check on this person")},
)
async def person_view(person_id: PersonId, db: Db, principal: Staff) -> PersonView:
    async def unit(session: AsyncSession) -> PersonView:
        return await people.view(session, principal, person_id)

    return await db.run(unit)


@router.post("/people/{person_id}/reveal", response_model=RevealOut)
async def reveal(person_id: PersonId, body: RevealIn, db: Db, principal: Staff) -> RevealOut:
    """The full passport, with a reason (clerk, supervisor); audited."""

    async def unit(session: AsyncSession) -> RevealOut:
        return RevealOut(
            passport=await people.reveal(session, principal, person_id, reason=body.reason)
        )

    return await db.run(unit)


@router.get("/people/{person_id}/audit", response_model=list[AuditLine])
async def person_audit(person_id: PersonId, db: Db, principal: Staff) -> list[AuditLine]:
    """Who looked at this person, when, why (supervisors)."""
    async with db.session() as session:
        return await people.audit_trail(session, principal, person_id)


class DetailsIn(BaseModel):
    account_number: Annotated[str, Text(32, min_length=1)]


class DetailsOut(BaseModel):
    sent_to: str


@router.get(
    "/people/{person_id}/statement-of-debt.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def statement_of_debt(person_id: PersonId, db: Db, principal: Staff) -> Response:
    """Every account of the person, debt by service and per charge, as a PDF."""

    async def unit(session: AsyncSession) -> bytes:
        return await people.statement_of_debt(session, principal, person_id)

    pdf = await db.run(unit)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="debt-{person_id}.pdf"'},
    )


@router.post("/people/{person_id}/sms-details", status_code=202, response_model=DetailsOut)
async def sms_details(person_id: PersonId, body: DetailsIn, db: Db, principal: Staff) -> DetailsOut:
    """Queue the account's details by SMS to the number on file (hotline, clerk)."""

    async def unit(session: AsyncSession) -> DetailsOut:
        sent_to = await people.send_details(session, principal, person_id, body.account_number)
        return DetailsOut(sent_to=sent_to)

    return await db.run(unit)


class DeskPayment(BaseModel):
    account_number: Annotated[str, Text(32, min_length=1)]
    amount_minor: PositiveMinor


class PromisedIn(BaseModel):
    account_number: Annotated[str, Text(32, min_length=1)]
    amount_minor: PositiveMinor = Field(description="one of the offered amounts, in kopecks")


@router.post(
    "/people/{person_id}/payments",
    status_code=201,
    response_model=PaymentOut,
    responses={400: problem("Idempotency-Key missing or malformed")},
)
async def desk_payment(
    person_id: PersonId,
    body: DeskPayment,
    request: Request,
    db: Db,
    principal: Staff,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Take a payment at the desk (clerk). ``Idempotency-Key`` per form: a resubmit is one."""

    async def work(claimed: idem.Claim | None) -> Reply:
        assert claimed is not None  # required=True

        async def unit(session: AsyncSession) -> Reply:
            booked = await people.take_payment(
                session,
                principal,
                person_id,
                account_number=body.account_number,
                amount_minor=body.amount_minor,
                receipt=claimed.key,
            )
            reply = json_reply(
                201 if booked.created else 200,
                payment_out(booked.payment, body.account_number),
                stored=True,
            )
            await idem.store(session, claimed, reply.status, reply.body)
            return reply

        return await db.run(unit)

    payload = {"person_id": person_id, **body.model_dump(mode="json")}
    return await run_idempotent(request, db, idempotency_key, payload, work, required=True)


@router.post("/people/{person_id}/promised-payment", status_code=201, response_model=PromisedOut)
async def take_promised(
    person_id: PersonId,
    body: PromisedIn,
    request: Request,
    db: Db,
    principal: Staff,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Take a promised payment for the person (clerk, hotline). Requires ``Idempotency-Key``."""

    async def work(claimed: idem.Claim | None) -> Reply:
        assert claimed is not None  # required=True

        async def unit(session: AsyncSession) -> Reply:
            out = await people.take_promised(
                session,
                principal,
                person_id,
                account_number=body.account_number,
                amount_minor=body.amount_minor,
            )
            reply = json_reply(201, out, stored=True)
            await idem.store(session, claimed, reply.status, reply.body)
            return reply

        return await db.run(unit)

    payload = {"person_id": person_id, **body.model_dump(mode="json")}
    return await run_idempotent(request, db, idempotency_key, payload, work, required=True)
