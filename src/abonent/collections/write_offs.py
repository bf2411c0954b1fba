"""Write-off requests as a supervisor decides them: the list (pending, approved, rejected) with
what each covers, one request, and the rejection.

Asking is :func:`service.request_write_off` (staff, or the nightly ladder as ``system:dunning``)
and approving is :func:`service.approve_write_off`, the one path to the ledger. A rejection moves
no money: it marks the request ``rejected`` and records who, when and why in the audit trail
(``write_off.reject``), which is where the list reads them back; the table has no columns for
them and gets none without a migration. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.collections import repository
from abonent.collections.errors import (
    WriteOffDecided,
    WriteOffNotFound,
    WriteOffReasonInvalid,
)
from abonent.collections.roles import require
from abonent.collections.service import _open_debits, locked_write_off
from abonent.kit.actor import Actor
from abonent.kit.errors import InvalidInput
from abonent.kit.inputs import check_text
from abonent.models import Account, AuditEvent, OpenItem, WriteOffRequest
from abonent.statement.service import statement_for

STATUSES: Final[dict[str, str]] = {
    "pending": "requested",
    "approved": "approved",
    "rejected": "rejected",
}
"""The filter's words → the stored status. 'pending' is what a supervisor looks for; the
column has said 'requested' since migration 0011."""
SHOWN: Final[dict[str, str]] = {stored: word for word, stored in STATUSES.items()}
REASON_MAX: Final = 500
LIST_MAX: Final = 500


@dataclass(frozen=True, slots=True)
class CoveredItem:
    """A charge a request covers."""

    open_item_id: int
    service_kind: str | None
    """'mobile', 'internet', 'tv'; None for an account-level charge."""
    period: str | None
    due_date: dt.date
    amount_minor: int
    """Kopecks charged."""
    covered_minor: int
    """Kopecks: pending, what still remains on it (what an approval now writes off); approved,
    what the write-off cleared."""


@dataclass(frozen=True, slots=True)
class WriteOffView:
    request: WriteOffRequest
    account_number: str
    currency: str
    debt_minor: int
    """The account's statement debt now, in kopecks."""
    items: list[CoveredItem]
    """Pending and approved requests; a rejected one lists none (its audit event names the
    charges it covered when it was rejected)."""
    decided_by: str | None
    decided_at: dt.datetime | None
    rejection_reason: str | None

    @property
    def status(self) -> str:
        """'pending', 'approved' or 'rejected'."""
        return SHOWN.get(self.request.status, self.request.status)

    @property
    def covered_minor(self) -> int:
        return sum(i.covered_minor for i in self.items)


def stored_status(word: str | None) -> str | None:
    """The stored status a filter word names; None (no filter) for None or ''."""
    if not word:
        return None
    if word not in STATUSES:
        raise InvalidInput(
            "status is pending, approved or rejected", code="write_off_status_invalid"
        )
    return STATUSES[word]


def checked_reason(reason: str) -> str:
    """A rejection's reason as typed: one line of 1 to 500 characters, not blank. Nothing is
    stripped: what the supervisor wrote is what the audit trail keeps."""
    try:
        return check_text(reason, max_length=REASON_MAX, min_length=1, blank=False)
    except ValueError as exc:
        raise WriteOffReasonInvalid(f"reason: {exc}", field="reason") from None


async def list_write_offs(
    session: AsyncSession, *, actor: Actor, status: str | None = None, limit: int = 100
) -> list[WriteOffView]:
    """Write-off requests, pending ones oldest first, decided ones newest first; ``status`` is
    'pending', 'approved', 'rejected' or None for all."""
    require(actor, "write_off.read")
    stored = stored_status(status)
    if isinstance(limit, bool) or not 1 <= limit <= LIST_MAX:
        raise InvalidInput(f"limit is 1 to {LIST_MAX}", code="write_off_limit_invalid")
    rows = await repository.write_off_requests(session, status=stored, limit=limit)
    return await _views(session, rows)


async def get_write_off(session: AsyncSession, request_id: int, *, actor: Actor) -> WriteOffView:
    require(actor, "write_off.read")
    found = await repository.write_off_request(session, request_id)
    if found is None:
        raise WriteOffNotFound(f"no write-off request {request_id}")
    (view,) = await _views(session, [found])
    return view


async def reject_write_off(
    session: AsyncSession, request_id: int, *, reason: str, actor: Actor
) -> WriteOffRequest:
    """A supervisor refuses the write-off: the request becomes 'rejected' and the ledger is not
    touched; the debt stays owed (and dunned). A decided request is refused
    (``write_off_decided``). Rejecting moves no money, so the four-eyes rule of the approval
    does not apply: a supervisor may withdraw their own request this way."""
    require(actor, "write_off.reject")
    reason = checked_reason(reason)
    request = await locked_write_off(session, request_id)
    if request.status != "requested":
        raise WriteOffDecided(f"write-off request {request_id} was {SHOWN.get(request.status)}")
    covered = await _open_debits(session, request.account_id, request.requested_at)
    request.status = "rejected"
    await session.flush()
    record(
        session,
        actor,
        "write_off.reject",
        object_type="write_off",
        object_id=request.id,
        account_id=request.account_id,
        reason=reason,
        # What an approval would have written off at this moment, for whoever reads the trail.
        open_item_ids=[i.id for i in covered],
        covered_minor=sum(i.remaining_minor for i in covered),
    )
    return request


async def _views(
    session: AsyncSession, rows: Sequence[tuple[WriteOffRequest, Account]]
) -> list[WriteOffView]:
    requests = [r for r, _ in rows]
    rejections = await repository.write_off_rejections(session, requests)
    written: dict[int, list[tuple[OpenItem, int]]] = {}
    entry_ids = [r.entry_id for r in requests if r.status == "approved" and r.entry_id]
    for entry_id, item, amount in await repository.written_off_items(session, entry_ids):
        written.setdefault(entry_id, []).append((item, amount))
    covered: dict[int, list[tuple[OpenItem, int]]] = {}
    for r in requests:
        if r.status == "requested":
            # The very query the approval runs, so the list shows what approving would post.
            items = await _open_debits(session, r.account_id, r.requested_at)
            covered[r.id] = [(i, i.remaining_minor) for i in items]
        elif r.status == "approved" and r.entry_id:
            covered[r.id] = written.get(r.entry_id, [])
    kinds = await repository.service_kinds(
        session,
        [i.service_id for pairs in covered.values() for i, _ in pairs if i.service_id is not None],
    )
    debts: dict[int, int] = {}
    for _, account in rows:
        if account.id not in debts:
            debts[account.id] = (await statement_for(session, account)).debt_minor
    return [
        _view(r, account, covered.get(r.id, []), kinds, debts[account.id], rejections.get(r.id))
        for r, account in rows
    ]


def _view(
    request: WriteOffRequest,
    account: Account,
    pairs: list[tuple[OpenItem, int]],
    kinds: dict[int, str],
    debt_minor: int,
    rejection: AuditEvent | None,
) -> WriteOffView:
    items = [
        CoveredItem(
            open_item_id=i.id,
            service_kind=kinds.get(i.service_id) if i.service_id is not None else None,
            period=i.period,
            due_date=i.due_date,
            amount_minor=i.amount_minor,
            covered_minor=amount,
        )
        for i, amount in pairs
    ]
    decided_by: str | None = request.approved_by
    decided_at: dt.datetime | None = request.approved_at
    why: str | None = None
    if rejection is not None:
        decided_by, decided_at, why = rejection.actor, rejection.at, rejection.reason
    return WriteOffView(
        request=request,
        account_number=account.number,
        currency=account.currency,
        debt_minor=debt_minor,
        items=items,
        decided_by=decided_by,
        decided_at=decided_at,
        rejection_reason=why,
    )
