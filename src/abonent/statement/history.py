"""The history behind a statement: journal entries with their postings, and open items.

Pages are keyset pages (``after`` / ``before`` an id, never an offset), so the cost of a page
depends on its size, not on how long the account's history is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import JournalEntry, OpenItem, Posting
from abonent.models.ledger import still_open


@dataclass(frozen=True, slots=True)
class EntryWithPostings:
    entry: JournalEntry
    postings: Sequence[Posting]


async def entries_page(
    session: AsyncSession, account_id: int, *, before_id: int | None, limit: int
) -> list[EntryWithPostings]:
    """Newest first: up to ``limit`` entries with ids below ``before_id``, each with its legs."""
    stmt = select(JournalEntry).where(JournalEntry.account_id == account_id)
    if before_id is not None:
        stmt = stmt.where(JournalEntry.id < before_id)
    entries = list(
        (await session.scalars(stmt.order_by(JournalEntry.id.desc()).limit(limit))).all()
    )
    if not entries:
        return []
    legs: dict[int, list[Posting]] = {e.id: [] for e in entries}
    postings = await session.scalars(
        select(Posting).where(Posting.entry_id.in_(legs)).order_by(Posting.id)
    )
    for posting in postings:
        legs[posting.entry_id].append(posting)
    return [EntryWithPostings(e, legs[e.id]) for e in entries]


async def open_items_page(
    session: AsyncSession,
    account_id: int,
    *,
    only_open: bool,
    after_id: int | None,
    limit: int,
) -> Sequence[OpenItem]:
    """Oldest first (the order allocation clears them): debit and credit items of the account.

    ``only_open`` keeps the items with something left (``remaining_minor > 0``, written as a
    literal so that PostgreSQL can use the partial index of open items).
    """
    stmt = select(OpenItem).where(OpenItem.account_id == account_id)
    if only_open:
        stmt = stmt.where(still_open())
    if after_id is not None:
        stmt = stmt.where(OpenItem.id > after_id)
    return (await session.scalars(stmt.order_by(OpenItem.id).limit(limit))).all()
