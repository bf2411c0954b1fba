"""The append-only audit trail: every staff action and every money movement."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.db.bulk import insert_records
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.models import AuditEvent


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_id: object,
    account_id: int | None = None,
    reason: str | None = None,
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        at=clock.now(),
        actor=actor.name[:128],
        role=actor.role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        account_id=account_id,
        reason=reason[:512] if reason else None,
        details=details,
    )
    session.add(event)
    return event


async def record_many(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    object_type: str,
    events: list[tuple[object, int | None]],
    reason: str | None = None,
) -> int:
    """The same action on many objects, (object id, account id) each, in one statement: a
    nightly job's batch. The rows are those :func:`record` would write one by one."""
    if not events:
        return 0
    await insert_records(
        session,
        AuditEvent.__table__,
        ("object_id", "account_id"),
        [(str(object_id), account_id) for object_id, account_id in events],
        same={
            "at": clock.now(),
            "actor": actor.name[:128],
            "role": actor.role,
            "action": action,
            "object_type": object_type,
            "reason": reason[:512] if reason else None,
            "details": {},
        },
    )
    return len(events)
