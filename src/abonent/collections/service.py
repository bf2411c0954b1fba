"""Agencies, hand-over and recall of debt, write-off by request and approval.

Entry points for the dunning ladder (h17): :func:`handover` and :func:`request_write_off` take
(session, account, actor, as-of date) and are idempotent. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.collections import repository
from abonent.collections.errors import (
    AgencyExists,
    AgencyInvalid,
    AgencyNotFound,
    AssignmentNotFound,
    InnInvalid,
    NothingToHandOver,
    NothingToWriteOff,
    SameApprover,
    WriteOffDecided,
    WriteOffNotFound,
)
from abonent.collections.inn import is_valid_inn
from abonent.collections.roles import require
from abonent.disputes.repository import disputed_open_item_ids
from abonent.kit import calendar, clock
from abonent.kit.actor import Actor
from abonent.ledger.balances import lock_balance
from abonent.ledger.chart import DEBIT
from abonent.ledger.write_off import write_off
from abonent.models import (
    Account,
    AssignmentItem,
    CollectionAgency,
    CollectionAssignment,
    OpenItem,
    WriteOffRequest,
)
from abonent.models.ledger import still_open
from abonent.outbox import service as outbox

EXPORT_FORMATS = ("csv", "xlsx")
NOTICE_WORKING_DAYS = 30
"""230-FZ art. 9: the debtor is told of the hand-over within 30 working days."""
NOTICE_STATUSES = ("queued", "sent", "delivered", "failed")


async def add_agency(
    session: AsyncSession,
    *,
    name: str,
    inn: str,
    contacts: str = "",
    export_format: str = "csv",
    commission_bp: int = 0,
    actor: Actor,
) -> CollectionAgency:
    require(actor, "agency.manage")
    name = name.strip()
    if not name or len(name) > 200:
        raise AgencyInvalid("the agency needs a name of 1 to 200 characters", field="name")
    if not is_valid_inn(inn):
        raise InnInvalid("the INN's check digits do not match", field="inn")
    if export_format not in EXPORT_FORMATS:
        raise AgencyInvalid("export format is csv or xlsx", field="export_format")
    if isinstance(commission_bp, bool) or not 0 <= commission_bp <= 10_000:
        raise AgencyInvalid("commission is 0 to 10 000 basis points", field="commission_bp")
    if await session.scalar(select(CollectionAgency.id).where(CollectionAgency.inn == inn)):
        raise AgencyExists(f"an agency with INN {inn} exists")
    agency = CollectionAgency(
        name=name,
        inn=inn,
        contacts=contacts[:500],
        export_format=export_format,
        commission_bp=commission_bp,
        created_at=clock.now(),
    )
    session.add(agency)
    await session.flush()
    record(session, actor, "agency.add", object_type="agency", object_id=agency.id)
    return agency


async def list_agencies(session: AsyncSession, actor: Actor) -> list[CollectionAgency]:
    require(actor, "collections.read")
    return list(await session.scalars(select(CollectionAgency).order_by(CollectionAgency.id)))


async def get_agency(session: AsyncSession, agency_id: int, actor: Actor) -> CollectionAgency:
    require(actor, "collections.read")
    agency = await session.get(CollectionAgency, agency_id)
    if agency is None:
        raise AgencyNotFound(f"no agency {agency_id}")
    return agency


@dataclass(frozen=True, slots=True)
class HandedOver:
    assignment: CollectionAssignment
    items: list[AssignmentItem]
    created: bool
    """False when the account's open debt was all in an active assignment already."""


async def handover(
    session: AsyncSession,
    account: Account,
    agency_id: int,
    *,
    actor: Actor,
    as_of: dt.date,
    item_ids: Sequence[int] | None = None,
) -> HandedOver:
    """Hand the account's overdue open debit items (due before ``as_of``) that are in no active
    assignment to the agency; queue the debtor's notice naming it. Repeating it hands over only
    what is new, and returns the existing assignment when nothing is.

    ``item_ids``: only these of the account's items (the dunning ladder hands over the items
    whose step is due, not a disputed one beside them)."""
    require(actor, "collections.handover")
    agency = await session.get(CollectionAgency, agency_id)
    if agency is None:
        raise AgencyNotFound(f"no agency {agency_id}")
    # One hand-over of an account at a time: a second waits and then sees the first's items.
    await lock_balance(session, account.id)
    taken = select(AssignmentItem.open_item_id).where(AssignmentItem.active)
    # Charges under an open claim are still owed but are not dunned while it is open.
    disputed = await disputed_open_item_ids(session, [account.id])
    items = list(
        await session.scalars(
            select(OpenItem)
            .where(
                OpenItem.account_id == account.id,
                OpenItem.side == DEBIT,
                still_open(),
                OpenItem.due_date < as_of,
                OpenItem.id.not_in(taken),
                OpenItem.id.not_in(sorted(disputed)),
                *([OpenItem.id.in_(list(item_ids))] if item_ids is not None else []),
            )
            .order_by(OpenItem.due_date, OpenItem.id)
        )
    )
    if not items:
        existing = await session.scalar(
            select(CollectionAssignment)
            .where(
                CollectionAssignment.account_id == account.id,
                CollectionAssignment.status == "active",
            )
            .order_by(CollectionAssignment.id.desc())
        )
        if existing is None:
            raise NothingToHandOver(f"account {account.number} has no overdue debt to hand over")
        rows = await assignment_items(session, existing.id)
        return HandedOver(existing, rows, created=False)
    total = sum(i.remaining_minor for i in items)
    assignment = CollectionAssignment(
        account_id=account.id,
        agency_id=agency.id,
        amount_minor=total,
        status="active",
        handed_over_on=as_of,
        notice_due_on=calendar.add_working_days(as_of, NOTICE_WORKING_DAYS),
        notice_status="queued",
        actor=actor.name[:128],
        created_at=clock.now(),
    )
    session.add(assignment)
    await session.flush()
    rows = [
        AssignmentItem(
            assignment_id=assignment.id,
            open_item_id=i.id,
            amount_minor=i.remaining_minor,
            active=True,
        )
        for i in items
    ]
    session.add_all(rows)
    await outbox.enqueue(
        session,
        "collections.notice",
        {"assignment_id": assignment.id, "agency": agency.name, "agency_inn": agency.inn},
        account_id=account.id,
        dedupe_key=f"collections.notice:{assignment.id}",
        fresh=True,
    )
    await session.flush()
    record(
        session,
        actor,
        "collections.handover",
        object_type="assignment",
        object_id=assignment.id,
        account_id=account.id,
        agency_id=agency.id,
        amount_minor=total,
    )
    return HandedOver(assignment, rows, created=True)


async def assignment_items(session: AsyncSession, assignment_id: int) -> list[AssignmentItem]:
    return list(
        await session.scalars(
            select(AssignmentItem)
            .where(AssignmentItem.assignment_id == assignment_id)
            .order_by(AssignmentItem.id)
        )
    )


async def recall(
    session: AsyncSession, assignment_id: int, *, actor: Actor, as_of: dt.date
) -> CollectionAssignment:
    """Take the debt back from the agency: its items are free for another hand-over.
    Recalling a recalled assignment changes nothing."""
    require(actor, "collections.recall")
    assignment = await session.get(CollectionAssignment, assignment_id)
    if assignment is None:
        raise AssignmentNotFound(f"no assignment {assignment_id}")
    if assignment.status == "recalled":
        return assignment
    for row in await assignment_items(session, assignment.id):
        row.active = False
    assignment.status = "recalled"
    assignment.recalled_on = as_of
    await session.flush()
    record(
        session,
        actor,
        "collections.recall",
        object_type="assignment",
        object_id=assignment.id,
        account_id=assignment.account_id,
    )
    return assignment


async def notices_awaiting_delivery(
    session: AsyncSession, *, after_id: int = 0, limit: int = 500
) -> list[int]:
    """Assignments whose hand-over notice went out and whose delivery is not known yet, in id
    order after ``after_id`` (a page)."""
    found = await session.scalars(
        select(CollectionAssignment.id)
        .where(CollectionAssignment.notice_status == "sent", CollectionAssignment.id > after_id)
        .order_by(CollectionAssignment.id)
        .limit(limit)
    )
    return list(found)


async def set_notice_status(
    session: AsyncSession, assignment_id: int, status: str, *, actor: Actor
) -> CollectionAssignment:
    require(actor, "collections.handover")
    if status not in NOTICE_STATUSES:
        raise AgencyInvalid("notice status is queued, sent, delivered or failed", field="status")
    assignment = await session.get(CollectionAssignment, assignment_id)
    if assignment is None:
        raise AssignmentNotFound(f"no assignment {assignment_id}")
    assignment.notice_status = status
    await session.flush()
    return assignment


async def _open_debits(
    session: AsyncSession, account_id: int, created_by: dt.datetime | None = None
) -> list[OpenItem]:
    query = select(OpenItem).where(
        OpenItem.account_id == account_id, OpenItem.side == DEBIT, still_open()
    )
    if created_by is not None:
        query = query.where(OpenItem.created_at <= created_by)
    return list(await session.scalars(query.order_by(OpenItem.due_date, OpenItem.id)))


async def request_write_off(
    session: AsyncSession, account: Account, *, reason: str, actor: Actor, as_of: dt.date
) -> WriteOffRequest:
    """Ask for the account's open debt to be written off; an open request is returned again."""
    require(actor, "write_off.request")
    reason = reason.strip()
    if not reason:
        raise AgencyInvalid("a write-off needs a reason", field="reason")
    pending = await session.scalar(
        select(WriteOffRequest).where(
            WriteOffRequest.account_id == account.id, WriteOffRequest.status == "requested"
        )
    )
    if pending is not None:
        return pending
    total = sum(i.remaining_minor for i in await _open_debits(session, account.id))
    if total <= 0:
        raise NothingToWriteOff(f"account {account.number} owes nothing")
    request = WriteOffRequest(
        account_id=account.id,
        amount_minor=total,
        reason=reason[:500],
        status="requested",
        requested_by=actor.name[:128],
        requested_at=clock.now(),
    )
    session.add(request)
    await session.flush()
    record(
        session,
        actor,
        "write_off.request",
        object_type="write_off",
        object_id=request.id,
        account_id=account.id,
        amount_minor=total,
        reason=reason,
    )
    return request


async def approve_write_off(
    session: AsyncSession, request_id: int, *, actor: Actor, as_of: dt.date
) -> WriteOffRequest:
    """A supervisor, not the requester, approves: the open debt goes to the bad-debt ledger.
    Approving an approved request changes nothing; a rejected one is refused."""
    require(actor, "write_off.approve")
    request = await locked_write_off(session, request_id)
    if request.status == "approved":
        return request
    if request.status != "requested":
        raise WriteOffDecided(f"write-off request {request_id} was {request.status}")
    if request.requested_by == actor.name:
        raise SameApprover("the write-off must be approved by someone other than its requester")
    # Only the debt the request saw: a charge posted since was not part of what was approved.
    items = await _open_debits(session, request.account_id, request.requested_at)
    if not items:
        raise NothingToWriteOff("nothing remains owed on the account")
    posted = await write_off(
        session,
        account_id=request.account_id,
        item_ids=[i.id for i in items],
        key=str(request.id),
        business_date=as_of,
        memo=f"Списание безнадёжной задолженности: {request.reason}",
        actor=actor.name,
    )
    request.status = "approved"
    request.approved_by = actor.name[:128]
    request.approved_at = clock.now()
    request.entry_id = posted.entry.id
    await session.flush()
    record(
        session,
        actor,
        "write_off.approve",
        object_type="write_off",
        object_id=request.id,
        account_id=request.account_id,
        entry_id=posted.entry.id,
        amount_minor=sum(a.amount_minor for a in posted.allocations),
    )
    return request


async def locked_write_off(session: AsyncSession, request_id: int) -> WriteOffRequest:
    """The request, its row locked until the unit ends and read afresh: an approval and a
    rejection of one request queue here, and the second sees the first's decision (without
    the lock both could pass the status check, and a rejected request could still post)."""
    request = await repository.lock_write_off(session, request_id)
    if request is None:
        raise WriteOffNotFound(f"no write-off request {request_id}")
    return request
