"""What the charges tests share: a CSV builder and a snapshot of everything money touches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit.actor import Actor
from abonent.models import (
    AccountBalance,
    Allocation,
    AuditEvent,
    JournalEntry,
    OpenItem,
    Posting,
)

HEADER = "external_id,account_number,service,amount,kind,period,charged_on,due_date,description"
ACTOR = Actor("cli:test", "admin")


def csv_text(rows: Iterable[Sequence[str]], header: str = HEADER) -> str:
    return header + "\n" + "".join(",".join(row) + "\n" for row in rows)


@dataclass(frozen=True)
class Snapshot:
    balances: tuple[tuple[int, int, int, int], ...]
    items: tuple[tuple[object, ...], ...]
    entries: int
    postings: int
    allocations: int
    audit: int


async def snapshot(session: AsyncSession) -> Snapshot:
    balances = await session.execute(
        select(
            AccountBalance.account_id,
            AccountBalance.balance_minor,
            AccountBalance.debt_minor,
            AccountBalance.entries_count,
        ).order_by(AccountBalance.account_id)
    )
    items = await session.execute(
        select(
            OpenItem.id,
            OpenItem.external_id,
            OpenItem.amount_minor,
            OpenItem.remaining_minor,
        ).order_by(OpenItem.id)
    )

    async def count(model: type) -> int:
        return (await session.scalar(select(func.count()).select_from(model))) or 0

    return Snapshot(
        balances=tuple(tuple(row) for row in balances),  # type: ignore[misc]
        items=tuple(tuple(row) for row in items),
        entries=await count(JournalEntry),
        postings=await count(Posting),
        allocations=await count(Allocation),
        audit=await count(AuditEvent),
    )
