"""Write-off requests as the nightly ladder makes them, and a look at everything a decision could
change (for the refusal tests: a refusal leaves all of it as it was)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from abonent.db.uow import Database
from abonent.dunning import ladder
from abonent.dunning import service as dunning
from abonent.kit.actor import Actor
from abonent.models import (
    AccountBalance,
    Allocation,
    AuditEvent,
    JournalEntry,
    OpenItem,
    Posting,
    WriteOffRequest,
)
from tests.factories import charge, make_account

ADMIN = Actor("test-admin", "admin")
LADDER = """
name = "write-off only"

[[step]]
name = "write_off"
action = "write_off"
offset_days = 365
"""


PASSPORTS = ("4601123456", "4602654321")
"""The two debtors' passports, for an identity check in the console."""


@dataclass(frozen=True)
class Proposal:
    request_id: int
    account_id: int
    customer_id: int
    number: str
    amount_minor: int


async def ladder_proposals(db: Database, today: dt.date) -> list[Proposal]:
    """Two debtors a year and more overdue, and the nightly run that proposes both write-offs
    (as ``system:dunning``): account A owes 300 ₽ + 150 ₽ on a SIM, account B 800 ₽ on TV."""
    old = today - dt.timedelta(days=400)
    async with db.session(write=True) as s:
        a, (sim,) = await make_account(s, kinds=("mobile",), passport=PASSPORTS[0])
        await charge(s, a, 30_000, due=old, service=sim)
        await charge(s, a, 15_000, due=old + dt.timedelta(days=20), service=sim)
        b, (tv,) = await make_account(
            s, kinds=("tv",), full_name="Петрова Мария Ивановна", passport=PASSPORTS[1]
        )
        await charge(s, b, 80_000, due=old, service=tv)
        await dunning.load_ladder(s, ladder.read(LADDER, "w.toml"), source="w.toml", actor=ADMIN)
        known = {a.id: (a.customer_id, a.number), b.id: (b.customer_id, b.number)}
    await dunning.run(db, run_date=today)
    async with db.session() as s:
        found = list(await s.scalars(select(WriteOffRequest).order_by(WriteOffRequest.id)))
    assert [(r.account_id, r.amount_minor, r.requested_by) for r in found] == [
        (a.id, 45_000, "system:dunning"),
        (b.id, 80_000, "system:dunning"),
    ]
    return [Proposal(r.id, r.account_id, *known[r.account_id], r.amount_minor) for r in found]


async def snapshot(db: Database) -> dict[str, Any]:
    """What a write-off decision writes: the requests, the ledger, the balances, the audit trail."""
    async with db.session() as s:

        async def count(model: type) -> int:
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)

        requests = [
            (r.id, r.status, r.approved_by, r.approved_at, r.entry_id)
            for r in await s.scalars(select(WriteOffRequest).order_by(WriteOffRequest.id))
        ]
        balances = [
            (b.account_id, b.balance_minor, b.debt_minor)
            for b in await s.scalars(select(AccountBalance).order_by(AccountBalance.account_id))
        ]
        remaining = [
            (i.id, i.remaining_minor)
            for i in await s.scalars(select(OpenItem).order_by(OpenItem.id))
        ]
        return {
            "requests": requests,
            "balances": balances,
            "open_items": remaining,
            "entries": await count(JournalEntry),
            "postings": await count(Posting),
            "allocations": await count(Allocation),
            # A decision's own trail; sign-ins and new staff (the tests make some) do not count.
            "audit": int(
                await s.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(
                        or_(
                            AuditEvent.object_type == "write_off",
                            AuditEvent.action == "staff.acted_as",
                        )
                    )
                )
                or 0
            ),
        }
