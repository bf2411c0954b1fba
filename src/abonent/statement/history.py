"""The history behind a statement: journal entries with their postings, and open items.

Pages are keyset pages (``after`` / ``before`` an id, never an offset), so the cost of a page
depends on its size, not on how long the account's history is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit.errors import InvalidInput
from abonent.ledger import chart
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


ENTRY_KINDS = (
    chart.CHARGE,
    chart.FEE,
    chart.PAYMENT,
    chart.REVERSAL,
    chart.PROMISED,
    chart.WRITE_OFF,
)
"""The kinds of entry the subscriber's history can be filtered by."""


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One entry as the subscriber sees it: what happened and what it did to the balance."""

    id: int
    business_date: dt.date
    kind: str
    memo: str
    created_at: dt.datetime
    reverses_entry_id: int | None
    balance_effect_minor: int
    """Kopecks: a payment raises the balance (> 0), a charge lowers it (< 0)."""


async def subscriber_history(
    session: AsyncSession,
    account_id: int,
    *,
    start: dt.date | None,
    end: dt.date | None,
    kind: str | None,
    before_id: int | None,
    limit: int,
) -> list[HistoryLine]:
    """Newest first, keyset-paged, filtered by business date (inclusive) and entry kind."""
    if kind is not None and kind not in ENTRY_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ENTRY_KINDS)}", code="kind_invalid")
    if start is not None and end is not None and start > end:
        raise InvalidInput("the period ends before it starts", code="period_invalid")
    rows = await repo.subscriber_entries_before(
        session, account_id, start=start, end=end, kind=kind, before_id=before_id, limit=limit
    )
    # The subscriber leg is debit-positive; the balance is minus the subscriber legs.
    return [HistoryLine(r[0], r[1], r[2], r[3], r[4], r[5], -int(r[6])) for r in rows]
