"""An account with two charges billed on known dates, for claims against them."""

from __future__ import annotations

import datetime as dt

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.ledger.chart import revenue_ledger
from abonent.ledger.service import post_charge
from abonent.models import Account, OpenItem
from tests.conftest import NOW
from tests.factories import make_account

D = dt.date


async def account_with_charges(
    db: Database, clock: FrozenClock, *, kind: str = "usage"
) -> tuple[Account, OpenItem, OpenItem]:
    """Charges of 300,00 ₽ (billed 15.05.2026) and 500,00 ₽ (billed 01.11.2026, ``kind``),
    both due before NOW (18.11.2026), so overdue."""
    clock.at = NOW
    async with db.session(write=True) as s:
        account, services = await make_account(s)
        old = await post_charge(
            s,
            account_id=account.id,
            amount_minor=30_000,
            revenue_ledger=revenue_ledger("mobile"),
            due_date=D(2026, 5, 30),
            service_id=services[0].id,
            charged_on=D(2026, 5, 15),
            kind="usage",
            description="Звонки",
        )
        new = await post_charge(
            s,
            account_id=account.id,
            amount_minor=50_000,
            revenue_ledger=revenue_ledger("mobile"),
            due_date=D(2026, 11, 10),
            service_id=services[0].id,
            charged_on=D(2026, 11, 1),
            kind=kind,
            description="Роуминг" if kind == "roaming" else "Связь",
        )
    assert old.item is not None and new.item is not None
    return account, old.item, new.item
