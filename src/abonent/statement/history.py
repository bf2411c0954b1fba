"""The history behind a statement: journal entries with their postings, and open items.

Pages are keyset pages (``after`` / ``before`` an id, never an offset), so the cost of a page
depends on its size, not on how long the account's history is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models import JournalEntry, OpenItem, Posting
from abonent.statement import repository as repo


@dataclass(frozen=True, slots=True)
class EntryWithPostings:
    entry: JournalEntry
    postings: Sequence[Posting]


async def entries_page(
    session: AsyncSession, account_id: int, *, before_id: int | None, limit: int
) -> list[EntryWithPostings]:
    """Newest first: up to ``limit`` entries with ids below ``before_id``, each with its legs."""
    entries = await repo.entries_before(session, account_id, before_id=before_id, limit=limit)
    if not entries:
        return []
    legs: dict[int, list[Posting]] = {e.id: [] for e in entries}
    for posting in await repo.postings_of(session, list(legs)):
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
    return await repo.open_items_after(
        session, account_id, only_open=only_open, after_id=after_id, limit=limit
    )
