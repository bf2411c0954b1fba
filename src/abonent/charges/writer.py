"""Writing many charges at once: the import's own rules around the ledger's bulk path.

A batch locks the balance rows of its accounts (:func:`abonent.ledger.balances.lock_accounts`),
drops the charges whose external id is already in the ledger (refusing those that differ from
what was imported under it), hands the rest to :func:`abonent.ledger.bulk.post_charges`, and
records the audit event. One unit of work per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.charges.errors import ChargeConflict
from abonent.charges.schemas import BatchResult, NewCharge, RowError
from abonent.kit.actor import Actor
from abonent.kit.money import format_plain
from abonent.ledger.balances import lock_accounts
from abonent.ledger.bulk import post_charges
from abonent.models import OpenItem

_PG_ARRAY_CHUNK = 50_000
_SQLITE_IN_CHUNK = 5_000


class Existing(NamedTuple):
    """What identifies a charge already in the ledger under an external id."""

    account_id: int
    service_id: int | None
    amount_minor: int
    kind: str
    period: str | None


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def existing_items(session: AsyncSession, external_ids: Sequence[str]) -> dict[str, Existing]:
    """The open items already holding any of ``external_ids``."""
    found: dict[str, Existing] = {}
    columns = (
        OpenItem.external_id,
        OpenItem.account_id,
        OpenItem.service_id,
        OpenItem.amount_minor,
        OpenItem.kind,
        OpenItem.period,
    )
    if is_postgres(session):
        # A join with the unnested array, not "= ANY(array)": a prepared statement gets a generic
        # plan, where ANY over a parameter is a linear search of the array for every row.
        for part in chunks(external_ids, _PG_ARRAY_CHUNK):
            wanted = (
                func.unnest(bindparam("ids", list(part), type_=ARRAY(String)))
                .table_valued("external_id")
                .render_derived()
            )
            rows = await session.execute(
                select(*columns).join(wanted, wanted.c.external_id == OpenItem.external_id)
            )
            _collect(found, rows)
    else:
        for part in chunks(external_ids, _SQLITE_IN_CHUNK):
            rows = await session.execute(select(*columns).where(OpenItem.external_id.in_(part)))
            _collect(found, rows)
    return found


def _collect(
    found: dict[str, Existing],
    rows: Iterable[tuple[str | None, int, int | None, int, str, str | None]],
) -> None:
    for external_id, account_id, service_id, amount_minor, kind, period in rows:
        # Found by equality with an external id, so never NULL.
        assert external_id is not None
        found[external_id] = Existing(account_id, service_id, amount_minor, kind, period)


def differences(existing: Existing, charge: NewCharge) -> list[str]:
    """How a charge differs from the one already imported under its external id."""
    account_id, service_id, amount_minor, kind, period = existing
    out = []
    if account_id != charge.account_id:
        out.append("account")
    if service_id != charge.service_id:
        out.append("service")
    if amount_minor != charge.amount_minor:
        out.append(f"amount ({format_plain(amount_minor)} there)")
    if kind != charge.kind:
        out.append(f"kind ({kind} there)")
    if period != charge.period:
        out.append(f"period ({period} there)")
    return out


def conflict_error(charge: NewCharge, diff: list[str]) -> RowError:
    return RowError(
        charge.line,
        "external_id_conflict",
        f"{charge.external_id!r} was already imported with another {', '.join(diff)}",
        "external_id",
    )


async def write_batch(
    session: AsyncSession,
    charges: Sequence[NewCharge],
    *,
    entry_kind: str,
    source: str,
    memo: str,
    actor: Actor,
    audit_action: str,
    audit_object: str,
    check_conflicts: bool = True,
) -> BatchResult:
    """Write ``charges`` in the caller's unit of work. Flushes, never commits.

    ``check_conflicts``: refuse (ChargeConflict) when an external id is already in the ledger
    with another account, service, amount, kind or period; otherwise it just counts as there.
    """
    await session.flush()
    result = BatchResult()
    if not charges:
        return result
    locked = await lock_accounts(session, [c.account_id for c in charges])
    # Under the locks, a concurrent import of the same file has either committed (and is
    # seen here) or waits for us.
    existing = await existing_items(session, [c.external_id for c in charges])
    if existing:
        if check_conflicts:
            conflicts = [
                conflict_error(c, diff)
                for c in charges
                if c.external_id in existing and (diff := differences(existing[c.external_id], c))
            ]
            if conflicts:
                raise ChargeConflict(conflicts)
        result.already_there = sum(1 for c in charges if c.external_id in existing)
        charges = [c for c in charges if c.external_id not in existing]
    if not charges:
        return result
    posted = await post_charges(
        session, locked, charges, entry_kind=entry_kind, source=source, memo=memo, actor=actor.name
    )
    result.imported = len(charges)
    result.total_minor = posted.total_minor
    result.accounts = posted.accounts
    result.allocated_minor = posted.allocated_minor
    record(
        session,
        actor,
        audit_action,
        object_type="charges",
        object_id=audit_object[:64],
        imported=result.imported,
        already_there=result.already_there,
        total_minor=result.total_minor,
        accounts=result.accounts,
        allocated_minor=result.allocated_minor,
        source=source,
    )
    await session.flush()
    return result
