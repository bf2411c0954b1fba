"""The payments JSON API (mounted under /v1): book with an Idempotency-Key, read, list, reverse."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts.service import account_or_none, get_account
from abonent.api.deps import Db, require
from abonent.api.idempotency import IdempotencyKeyHeader, Reply, json_reply, run_idempotent
from abonent.api.v1 import pagination
from abonent.api.v1.responses import PROBLEMS, problem
from abonent.kit.actor import Actor
from abonent.kit.errors import InvalidInput
from abonent.kit.inputs import INT64_MAX, Text, Timestamp
from abonent.models import Payment
from abonent.models.payments import PAYMENT_STATUSES
from abonent.payments import idempotency as idem
from abonent.payments import reads, sources
from abonent.payments.schemas import (
    PaymentCreate,
    PaymentOut,
    PaymentPage,
    ReverseRequest,
)
from abonent.payments.service import METHODS, PaymentRequest, book_payment, reverse_payment

router = APIRouter(tags=["payments"], responses=PROBLEMS)

MAX_ID = INT64_MAX
PaymentId = Annotated[int, Path(ge=1, le=MAX_ID)]


# --- payments -----------------------------------------------------------------------------------


def payment_out(payment: Payment, account_number: str) -> PaymentOut:
    return PaymentOut(
        id=payment.id,
        account_number=account_number,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        method=payment.method,
        status=payment.status,
        source=payment.source,
        source_txn_id=payment.source_txn_id,
        comment=payment.comment,
        created_at=payment.created_at,
        booked_at=payment.booked_at,
        entry_id=payment.entry_id,
        reversal_entry_id=payment.reversal_entry_id,
        reversal_reason=payment.reversal_reason,
    )


@router.post(
    "/payments",
    status_code=201,
    response_model=PaymentOut,
    responses={
        200: {"model": PaymentOut, "description": "the external_id was already booked"},
        400: problem("Idempotency-Key missing or malformed, or the body is not JSON"),
        409: problem("a request with this Idempotency-Key is still running"),
        422: problem("invalid input, or the Idempotency-Key was used for another body"),
    },
)
async def create_payment(
    body: PaymentCreate,
    request: Request,
    db: Db,
    actor: Annotated[Actor, Depends(require("payments.create"))],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Book a payment. Requires ``Idempotency-Key``; a retry with it returns the first answer."""
    api_key_id = request.state.api_key_id

    async def work(claimed: idem.Claim | None) -> Reply:
        assert claimed is not None  # required=True

        async def unit(session: AsyncSession) -> Reply:
            account = await get_account(session, body.account_number)
            booked = await book_payment(
                session,
                PaymentRequest(
                    account=account,
                    amount_minor=body.amount_minor,
                    currency=body.currency,
                    method=body.method,
                    source=sources.api(api_key_id),
                    source_txn_id=body.external_id or claimed.key,
                    actor=actor,
                    comment=body.comment,
                ),
            )
            reply = json_reply(
                201 if booked.created else 200,
                payment_out(booked.payment, account.number),
                stored=True,
            )
            await idem.store(session, claimed, reply.status, reply.body)
            return reply

        return await db.run(unit)

    return await run_idempotent(
        request, db, idempotency_key, body.model_dump(mode="json"), work, required=True
    )


@router.get("/payments/{payment_id}", response_model=PaymentOut)
async def get_payment(
    payment_id: PaymentId,
    db: Db,
    _actor: Annotated[Actor, Depends(require("payments.read"))],
) -> PaymentOut:
    async with db.session() as session:
        payment, number = await reads.with_account_number(session, payment_id)
    return payment_out(payment, number)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)  # a time without a zone is read as UTC


@router.get("/payments", response_model=PaymentPage)
async def list_payments(
    db: Db,
    _actor: Annotated[Actor, Depends(require("payments.read"))],
    account_number: Annotated[Annotated[str, Text(32)] | None, Query()] = None,
    status: Annotated[Annotated[str, Text(255)] | None, Query()] = None,
    method: Annotated[Annotated[str, Text(255)] | None, Query()] = None,
    since: Annotated[Timestamp | None, Query(description="created at or after")] = None,
    until: Annotated[Timestamp | None, Query(description="created before")] = None,
    limit: pagination.Limit = pagination.DEFAULT_LIMIT,
    cursor: pagination.Cursor = None,
) -> PaymentPage:
    """Payments, newest first, filtered; follow ``next_cursor`` for the next page."""
    if status is not None and status not in PAYMENT_STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(PAYMENT_STATUSES)}", code="status_invalid"
        )
    if method is not None and method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}", code="method_invalid")
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be earlier than until", code="period_invalid")
    # A cursor is only good for the filters it was issued with.
    scope = f"payments|{account_number}|{status}|{method}|{since}|{until}"
    before = pagination.decode(cursor, scope)
    async with db.session() as session:
        rows = await reads.page(
            session,
            before_id=before,
            account_number=account_number,
            status=status,
            method=method,
            since=since,
            until=until,
            limit=limit + 1,
        )
    return PaymentPage(
        items=[payment_out(payment, number) for payment, number in rows[:limit]],
        next_cursor=pagination.next_cursor(scope, [payment.id for payment, _ in rows], limit),
    )


@router.post(
    "/payments/{payment_id}/reverse",
    response_model=PaymentOut,
    responses={422: problem("invalid input, not a booked payment, or already reversed")},
)
async def reverse(
    payment_id: PaymentId,
    body: ReverseRequest,
    request: Request,
    db: Db,
    actor: Annotated[Actor, Depends(require("payments.reverse"))],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Reverse a booked payment (supervisor, admin): the debt it paid is owed again. Audited.

    An ``Idempotency-Key`` is optional here (a second reversal is refused anyway); with one, a
    retry gets the first answer instead of ``payment_already_reversed``.
    """

    async def work(claimed: idem.Claim | None) -> Reply:
        async def unit(session: AsyncSession) -> Reply:
            payment = await reverse_payment(session, payment_id, reason=body.reason, actor=actor)
            account = await account_or_none(session, payment.account_id)
            assert account is not None
            reply = json_reply(200, payment_out(payment, account.number), stored=True)
            if claimed is not None:
                await idem.store(session, claimed, reply.status, reply.body)
            return reply

        return await db.run(unit)

    return await run_idempotent(
        request, db, idempotency_key, body.model_dump(mode="json"), work, required=False
    )
