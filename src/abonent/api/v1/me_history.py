"""The subscriber's reads of one own account: history, open items, payments.

Every route takes ``Own`` (api/deps.py): the token and the account ``{number}`` are checked in one
query, and another customer's account answers 404 ``account_not_found`` with exactly the body of
an unknown number. Pages are keyset pages with opaque cursors (``api/v1/pagination.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Query, Request

from abonent.api.deps import Own, database_of
from abonent.api.v1 import pagination
from abonent.api.v1.me_schemas import MeEntry, MeEntryPage, MePayment, MePaymentPage
from abonent.api.v1.responses import PROBLEMS
from abonent.api.v1.schemas import OpenItemOut, OpenItemPage
from abonent.kit.inputs import Date
from abonent.payments import reads as payment_reads
from abonent.statement import history

router = APIRouter(prefix="/me/accounts/{number}", tags=["subscriber"], responses=PROBLEMS)

EntryKind = Literal["charge", "fee", "payment", "reversal", "promised", "write_off"]
# Spelled out for OpenAPI (an enum); the service's list is the one that counts.
assert set(get_args(EntryKind)) == set(history.ENTRY_KINDS)


@router.get("/history", response_model=MeEntryPage)
async def account_history(
    own: Own,
    request: Request,
    date_from: Annotated[
        Date | None, Query(alias="from", description="first business date, inclusive")
    ] = None,
    date_to: Annotated[
        Date | None, Query(alias="to", description="last business date, inclusive")
    ] = None,
    kind: Annotated[EntryKind | None, Query(description="only entries of this kind")] = None,
    limit: pagination.Limit = pagination.DEFAULT_LIMIT,
    cursor: pagination.Cursor = None,
) -> MeEntryPage:
    """The account's entries, newest first: charges, fees, payments, reversals, promised
    payments; each with what it did to the balance. Filter by period and kind; page on with
    ``next_cursor`` (valid only with the same filters)."""
    scope = f"me-history:{own.number}:{date_from}:{date_to}:{kind}"
    before = pagination.decode(cursor, scope)
    async with database_of(request).session() as session:
        lines = await history.subscriber_history(
            session,
            own.account_id,
            start=date_from,
            end=date_to,
            kind=kind,
            before_id=before,
            limit=limit + 1,
        )
    return MeEntryPage(
        items=[MeEntry.of(line, own.currency) for line in lines[:limit]],
        next_cursor=pagination.next_cursor(scope, [line.id for line in lines], limit),
    )


@router.get("/open-items", response_model=OpenItemPage)
async def account_open_items(
    own: Own,
    request: Request,
    state: Annotated[
        Literal["open", "all"], Query(description="open: something left to pay; all: history")
    ] = "open",
    limit: pagination.Limit = pagination.DEFAULT_LIMIT,
    cursor: pagination.Cursor = None,
) -> OpenItemPage:
    """Charges owed (debit) and money not yet allocated (credit), oldest first: what the debt
    is made of, by service and due date."""
    scope = f"me-open-items:{own.number}:{state}"
    after = pagination.decode(cursor, scope)
    async with database_of(request).session() as session:
        items = await history.open_items_page(
            session, own.account_id, only_open=state == "open", after_id=after, limit=limit + 1
        )
        out = [OpenItemOut.of(i) for i in items[:limit]]
    return OpenItemPage(
        items=out, next_cursor=pagination.next_cursor(scope, [i.id for i in items], limit)
    )


@router.get("/payments", response_model=MePaymentPage)
async def account_payments(
    own: Own,
    request: Request,
    limit: pagination.Limit = pagination.DEFAULT_LIMIT,
    cursor: pagination.Cursor = None,
) -> MePaymentPage:
    """Payments booked to the account, newest first (by any channel: card, agent, bank, …)."""
    scope = f"me-payments:{own.number}"
    before = pagination.decode(cursor, scope)
    async with database_of(request).session() as session:
        rows = await payment_reads.page(
            session,
            before_id=before,
            account_number=own.number,
            status=None,
            method=None,
            since=None,
            until=None,
            limit=limit + 1,
        )
    return MePaymentPage(
        items=[MePayment.of(payment) for payment, _ in rows[:limit]],
        next_cursor=pagination.next_cursor(scope, [payment.id for payment, _ in rows], limit),
    )
