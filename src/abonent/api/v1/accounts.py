"""Accounts, their services and contracts, the statement, the journal and the open items.

A number failing its check digit is 422 ``account_number_check_digit`` (a typo), a number of the
wrong shape 422 ``account_number_format``, a well-formed unknown one 404 ``account_not_found``.
Every write is one unit of work through ``Database.run`` and is audited by the service.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import reads
from abonent.accounts import service as accounts
from abonent.accounts.errors import ServiceNotFound
from abonent.api.deps import Db, Session, database_of, require
from abonent.api.v1 import pagination
from abonent.api.v1.responses import PROBLEMS
from abonent.api.v1.schemas import (
    AccountClose,
    AccountDetail,
    AccountOpen,
    AccountPage,
    AccountStatusChange,
    AccountSummary,
    ContractAdd,
    ContractOut,
    CreditLimitChange,
    EntryOut,
    EntryPage,
    OpenItemOut,
    OpenItemPage,
    PostingOut,
    ServiceAdd,
    ServiceOut,
    ServiceStatusChange,
)
from abonent.apikeys.permissions import allowed
from abonent.kit.actor import Actor
from abonent.kit.errors import Forbidden, InvalidInput
from abonent.kit.inputs import INT64_MAX, Text
from abonent.models import Account
from abonent.statement import history
from abonent.statement.reader import read_statement
from abonent.statement.schemas import Statement

router = APIRouter(tags=["accounts"], responses=PROBLEMS)

Number = Annotated[str, Path(description="account number (12 digits, Luhn)"), Text(64)]
ServiceId = Annotated[int, Path(ge=1, le=INT64_MAX)]
ServiceBody = Annotated[ServiceAdd, Body(discriminator="kind")]


async def _detail(session: AsyncSession, account: Account) -> AccountDetail:
    services = await reads.services_of(session, account.id)
    codes = await reads.tariff_codes(session, {s.tariff_id for s in services if s.tariff_id})
    summary = AccountSummary.of(account, await reads.balance(session, account.id))
    return AccountDetail(
        **summary.model_dump(),
        services=[ServiceOut.of(s, codes.get(s.tariff_id or 0)) for s in services],
        contracts=[ContractOut.of(c) for c in await reads.contracts_of(session, account.id)],
    )


# --- the statement ----------------------------------------------------------------------------
# First among the routes: it is by far the most requested, and routes are matched in order.
# (api/statement_lane.py answers its plain success with a cached key, under this permission.)
STATEMENT_PERMISSION = "accounts.read"


@router.get("/accounts/{number}/statement", response_model=Statement)
async def statement(
    number: Number,
    request: Request,
    _actor: Annotated[Actor, Depends(require(STATEMENT_PERMISSION))],
) -> Response:
    """The statement every channel shows: balance, debt by service, overdue, next due date."""
    result = await read_statement(database_of(request).engine, number)
    # Already a validated model: serialise it once, in pydantic-core, instead of again through
    # FastAPI's response validation (this is the hottest read of the API).
    return Response(result.model_dump_json(), media_type="application/json")


# --- accounts ---------------------------------------------------------------------------------


@router.post("/accounts", status_code=201, response_model=AccountDetail)
async def open_account(
    body: AccountOpen,
    actor: Annotated[Actor, Depends(require("accounts.write"))],
    db: Db,
) -> AccountDetail:
    """Open an account for a customer, optionally with a credit limit (a supervisor's call)."""
    if body.credit_limit_minor and not allowed(actor.role or "", "accounts.credit_limit"):
        raise Forbidden(f"role {actor.role} may not grant a credit limit", code="role_forbidden")

    async def work(session: AsyncSession) -> AccountDetail:
        account = await accounts.open_account(
            session,
            customer_id=body.customer_id,
            actor=actor,
            credit_limit_minor=body.credit_limit_minor,
            currency=body.currency,
            number=body.number,
            timezone=body.timezone,
        )
        return await _detail(session, account)

    return await db.run(work)


@router.get("/accounts", response_model=AccountPage)
async def list_accounts(
    _actor: Annotated[Actor, Depends(require("accounts.read"))],
    session: Session,
    in_debt: Annotated[bool | None, Query(description="true: owing; false: owing nothing")] = None,
    status: Annotated[Literal["active", "suspended", "closed"] | None, Query()] = None,
    limit: pagination.Limit = pagination.DEFAULT_LIMIT,
    cursor: pagination.Cursor = None,
) -> AccountPage:
    """Accounts in number-of-opening order, filtered; page on with ``next_cursor``."""
    scope = f"accounts:{in_debt}:{status}"
    after = pagination.decode(cursor, scope)
    rows = await reads.page(
        session, in_debt=in_debt, status=status, after_id=after or 0, limit=limit + 1
    )
    return AccountPage(
        items=[AccountSummary.of(a, b) for a, b in rows[:limit]],
        next_cursor=pagination.next_cursor(scope, [a.id for a, _ in rows], limit),
    )


@router.get("/accounts/{number}", response_model=AccountDetail)
async def get_account(
    number: Number,
    _actor: Annotated[Actor, Depends(require("accounts.read"))],
    session: Session,
) -> AccountDetail:
    """The account with its balance, services and contracts."""
    return await _detail(session, await accounts.get_account(session, number))


@router.put("/accounts/{number}/credit-limit", response_model=AccountDetail)
async def set_credit_limit(
    number: Number,
    body: CreditLimitChange,
    actor: Annotated[Actor, Depends(require("accounts.credit_limit"))],
    db: Db,
) -> AccountDetail:
    """Set how far below zero the balance may go (kopecks, >= 0)."""

    async def work(session: AsyncSession) -> AccountDetail:
        account = await accounts.get_account(session, number)
        if body.currency is not None and body.currency != account.currency:
            raise InvalidInput(
                f"account {account.number} is in {account.currency}", code="currency_mismatch"
            )
        await accounts.set_credit_limit(session, account, body.credit_limit_minor, actor=actor)
        return await _detail(session, account)

    return await db.run(work)


@router.post("/accounts/{number}/status", response_model=AccountDetail)
async def change_status(
    number: Number,
    body: AccountStatusChange,
    actor: Annotated[Actor, Depends(require("accounts.write"))],
    db: Db,
) -> AccountDetail:
    """Suspend or reactivate the account, with a reason (audited)."""

    async def work(session: AsyncSession) -> AccountDetail:
        account = await accounts.get_account(session, number)
        await accounts.change_account_status(
            session, account, body.status, actor=actor, reason=body.reason
        )
        return await _detail(session, account)

    return await db.run(work)


@router.post("/accounts/{number}/close", response_model=AccountDetail)
async def close_account(
    number: Number,
    body: AccountClose,
    actor: Annotated[Actor, Depends(require("accounts.close"))],
    db: Db,
) -> AccountDetail:
    """Close the account and its services. Its debt stays: it can still be paid and dunned."""

    async def work(session: AsyncSession) -> AccountDetail:
        account = await accounts.get_account(session, number)
        await accounts.change_account_status(
            session, account, "closed", actor=actor, reason=body.reason
        )
        return await _detail(session, account)

    return await db.run(work)


# --- services and contracts -------------------------------------------------------------------


@router.post("/accounts/{number}/services", status_code=201, response_model=ServiceOut)
async def add_service(
    number: Number,
    body: ServiceBody,
    actor: Annotated[Actor, Depends(require("accounts.write"))],
    db: Db,
) -> ServiceOut:
    """Add a SIM (msisdn), a home internet line (login) or a TV card (smart_card + chip_id)."""
    spec = accounts.ServiceSpec(
        kind=body.kind,
        msisdn=getattr(body, "msisdn", None),
        login=getattr(body, "login", None),
        smart_card=getattr(body, "smart_card", None),
        chip_id=getattr(body, "chip_id", None),
        tariff_code=body.tariff_code,
        label=body.label,
    )

    async def work(session: AsyncSession) -> ServiceOut:
        account = await accounts.get_account(session, number)
        service = await accounts.add_service(session, account, spec, actor=actor)
        return ServiceOut.of(service, body.tariff_code if service.tariff_id else None)

    return await db.run(work)


@router.post("/accounts/{number}/services/{service_id}/status", response_model=ServiceOut)
async def change_service_status(
    number: Number,
    service_id: ServiceId,
    body: ServiceStatusChange,
    actor: Annotated[Actor, Depends(require("accounts.write"))],
    db: Db,
) -> ServiceOut:
    """Suspend, restore or close one service of the account, with a reason (audited)."""

    async def work(session: AsyncSession) -> ServiceOut:
        account = await accounts.get_account(session, number)
        service = await accounts.get_service(session, service_id)
        if service.account_id != account.id:
            raise ServiceNotFound(f"account {account.number} has no service {service_id}")
        await accounts.change_service_status(
            session, service, body.status, actor=actor, reason=body.reason
        )
        codes = await reads.tariff_codes(
            session, {service.tariff_id} if service.tariff_id else set()
        )
        return ServiceOut.of(service, codes.get(service.tariff_id or 0))

    return await db.run(work)


@router.post("/accounts/{number}/contracts", status_code=201, response_model=ContractOut)
async def add_contract(
    number: Number,
    body: ContractAdd,
    actor: Annotated[Actor, Depends(require("accounts.write"))],
    db: Db,
) -> ContractOut:
    """Link a contract number to the account (found later by GET /v1/lookup?contract=…)."""

    async def work(session: AsyncSession) -> ContractOut:
        account = await accounts.get_account(session, number)
        contract = await accounts.add_contract(
            session, account, body.number, body.signed_on, actor=actor
        )
        return ContractOut.of(contract)

    return await db.run(work)


# --- statement and history --------------------------------------------------------------------


@router.get("/accounts/{number}/entries", response_model=EntryPage)
async def entries(
    number: Number,
    _actor: Annotated[Actor, Depends(require("ledger.read"))],
    session: Session,
    limit: pagination.Limit = pagination.DEFAULT_LIMIT,
    cursor: pagination.Cursor = None,
) -> EntryPage:
    """Journal entries of the account with their postings, newest first."""
    account = await accounts.get_account(session, number)
    scope = f"entries:{account.number}"
    before = pagination.decode(cursor, scope)
    page = await history.entries_page(session, account.id, before_id=before, limit=limit + 1)
    return EntryPage(
        items=[EntryOut.of(p.entry, [PostingOut.of(x) for x in p.postings]) for p in page[:limit]],
        next_cursor=pagination.next_cursor(scope, [p.entry.id for p in page], limit),
    )


@router.get("/accounts/{number}/open-items", response_model=OpenItemPage)
async def open_items(
    number: Number,
    _actor: Annotated[Actor, Depends(require("ledger.read"))],
    session: Session,
    state: Annotated[
        Literal["open", "all"], Query(description="open: something left to clear; all: history")
    ] = "open",
    limit: pagination.Limit = pagination.DEFAULT_LIMIT,
    cursor: pagination.Cursor = None,
) -> OpenItemPage:
    """Charges (debit) and unallocated credits of the account, oldest first."""
    account = await accounts.get_account(session, number)
    scope = f"open-items:{account.number}:{state}"
    after = pagination.decode(cursor, scope)
    items = await history.open_items_page(
        session, account.id, only_open=state == "open", after_id=after, limit=limit + 1
    )
    return OpenItemPage(
        items=[OpenItemOut.of(i) for i in items[:limit]],
        next_cursor=pagination.next_cursor(scope, [i.id for i in items], limit),
    )
