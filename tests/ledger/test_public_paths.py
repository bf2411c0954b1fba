"""The ledger's invariants through the paths the product uses, on SQLite and PostgreSQL.

Each example opens a fresh account and drives it only through the public services: the charge
import (``charges.service.import_charges``, the ledger's bulk path), payment booking
(``payments.service.book_payment``, which on PostgreSQL takes the set-based path when it can)
and reversal (``payments.service.reverse_payment`` for payments, ``ledger.reverse_entry`` for
imported charges). After every step: each entry of the account sums to zero, the balance row is
minus the subscriber's postings, no item is cleared beyond its amount (so no allocation clears
more than was paid), and a reversal restores the balance to what it was without the entry.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from abonent.charges.service import import_charges
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.ledger.chart import CHARGE, CREDIT, DEBIT, SUBSCRIBER_LEDGER
from abonent.ledger.errors import AlreadyReversed
from abonent.ledger.service import reverse_entry
from abonent.models import AccountBalance, Allocation, JournalEntry, OpenItem, Posting
from abonent.payments.errors import NotReversible
from abonent.payments.service import PaymentRequest, book_payment, reverse_payment
from tests.charges.helpers import csv_text
from tests.conftest import PG_URL
from tests.factories import ACTOR, make_account

TODAY = dt.date(2026, 11, 18)
STAFF = Actor("staff:test", "admin")
_ids = itertools.count(1)

amounts = st.integers(min_value=1, max_value=200_000)
step = st.one_of(
    # Charges of one import, each on service 0, 1 or none (-1), due some days from today.
    st.tuples(
        st.just("import"),
        st.lists(
            st.tuples(amounts, st.integers(-1, 1), st.integers(-60, 30)), min_size=1, max_size=3
        ),
    ),
    st.tuples(st.just("pay"), amounts),
    st.tuples(st.just("reverse"), st.integers(0, 1_000)),
)
budget = settings(
    max_examples=6 if PG_URL else 10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _check(db: Database, account_id: int) -> int:
    """Assert the invariants of one account; return its balance."""
    async with db.session() as s:
        balance = await s.get_one(AccountBalance, account_id)
        subscriber = await s.scalar(
            select(func.coalesce(func.sum(Posting.amount_minor), 0)).where(
                Posting.account_id == account_id, Posting.ledger == SUBSCRIBER_LEDGER
            )
        )
        assert balance.balance_minor == -subscriber
        unbalanced = await s.scalar(
            select(func.count()).select_from(
                select(Posting.entry_id)
                .where(Posting.account_id == account_id)
                .group_by(Posting.entry_id)
                .having(func.sum(Posting.amount_minor) != 0)
                .subquery()
            )
        )
        assert unbalanced == 0
        items = {
            i.id: i
            for i in await s.scalars(select(OpenItem).where(OpenItem.account_id == account_id))
        }
        cleared: dict[int, int] = dict.fromkeys(items, 0)
        for row in await s.scalars(select(Allocation).where(Allocation.account_id == account_id)):
            cleared[row.debit_item_id] += row.amount_minor
            cleared[row.credit_item_id] += row.amount_minor
        for item_id, item in items.items():
            # What allocations cleared of an item is what it lost, never more than it brought.
            assert 0 <= cleared[item_id] == item.amount_minor - item.remaining_minor
            assert item.remaining_minor <= item.amount_minor
        debt = sum(i.remaining_minor for i in items.values() if i.side == DEBIT)
        credit = sum(i.remaining_minor for i in items.values() if i.side == CREDIT)
        assert balance.debt_minor == debt
        # Allocation is complete: money and debt never sit side by side.
        assert debt == max(0, -balance.balance_minor)
        assert credit == max(0, balance.balance_minor)
        return balance.balance_minor


@budget
@given(steps=st.lists(step, min_size=1, max_size=8))
async def test_invariants_through_import_booking_and_reversal(
    db: Database, clock, steps: list[tuple]
) -> None:
    async with db.session(write=True) as s:
        account, services = await make_account(s, kinds=("mobile", "internet"))
    # (what, id, effect on the balance): a payment id, or an imported entry id.
    done: list[tuple[str, int, int]] = []
    reversed_: set[tuple[str, int]] = set()
    balance = 0
    for op in steps:
        if op[0] == "import":
            rows = []
            for amount, which, due in op[1]:
                service = ""
                if which >= 0:
                    service = services[which].msisdn or f"internet:{services[which].login}"
                rows.append(
                    (
                        f"prop-{next(_ids)}",
                        account.number,
                        service,
                        f"{amount // 100}.{amount % 100:02d}",
                        "usage",
                        "2026-09",
                        "2026-09-01",
                        (TODAY + dt.timedelta(days=due)).isoformat(),
                        "",
                    )
                )
            result = await import_charges(db, csv_text(rows), name="prop.csv", actor=ACTOR)
            total = sum(amount for amount, _, _ in op[1])
            assert (result.imported, result.total_minor) == (len(rows), total)
            async with db.session() as s:
                entry_id = await s.scalar(
                    select(func.max(JournalEntry.id)).where(
                        JournalEntry.account_id == account.id, JournalEntry.kind == CHARGE
                    )
                )
            assert entry_id is not None
            done.append(("entry", entry_id, -total))
            expected = balance - total
        elif op[0] == "pay":
            booked = await db.run(
                lambda s, amount=op[1]: book_payment(
                    s,
                    PaymentRequest(
                        account=account,
                        amount_minor=amount,
                        method="office",
                        source="office",
                        source_txn_id=f"prop-{next(_ids)}",
                        actor=STAFF,
                    ),
                )
            )
            assert booked.created
            done.append(("payment", booked.payment.id, op[1]))
            expected = balance + op[1]
        else:
            if not done:
                continue
            what, target, effect = done[op[1] % len(done)]
            try:
                if what == "payment":
                    await db.run(
                        lambda s, t=target: reverse_payment(s, t, reason="property", actor=STAFF)
                    )
                else:
                    await db.run(
                        lambda s, t=target: reverse_entry(s, t, reason="property", actor="test")
                    )
            except (AlreadyReversed, NotReversible):
                # Refused, and it changed nothing.
                assert (what, target) in reversed_
                expected = balance
            else:
                assert (what, target) not in reversed_
                reversed_.add((what, target))
                # A reversal restores the balance to what it was without the reversed entry.
                expected = balance - effect
        balance = await _check(db, account.id)
        assert balance == expected
