"""Every posting and open item is in the account's currency, whichever path wrote it.

The house currency is RUB; an account in another one (here USD, set on the row as a migrated
account would have it) must never get RUB postings, least of all from a reversal, which used
to post RUB whatever the account's currency.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from abonent.charges.service import import_charges
from abonent.db.uow import Database
from abonent.ledger.service import reverse_entry
from abonent.models import Account, JournalEntry, OpenItem, Posting
from abonent.payments.service import PaymentRequest, book_payment, reverse_payment
from tests.charges.helpers import csv_text
from tests.factories import ACTOR, charge, make_account, pay

D = dt.date


async def _usd_account(db: Database) -> Account:
    async with db.session(write=True) as s:
        account, _ = await make_account(s)
        row = await s.get_one(Account, account.id)
        row.currency = "USD"
    async with db.session() as s:
        return await s.get_one(Account, account.id)


async def _currencies(db: Database, account_id: int) -> tuple[set[str], set[str]]:
    async with db.session() as s:
        postings = set(
            await s.scalars(select(Posting.currency).where(Posting.account_id == account_id))
        )
        items = set(
            await s.scalars(select(OpenItem.currency).where(OpenItem.account_id == account_id))
        )
    return postings, items


async def test_a_reversal_posts_in_the_account_currency(db: Database, clock) -> None:
    account = await _usd_account(db)
    async with db.session(write=True) as s:
        charged = await charge(s, account, 5_000, due=D(2026, 11, 1))
        paid = await pay(s, account, 2_000)
    await db.run(lambda s: reverse_entry(s, charged.entry.id, reason="wrong", actor="test"))
    await db.run(lambda s: reverse_entry(s, paid.entry.id, reason="wrong", actor="test"))
    async with db.session() as s:
        reversals = list(
            await s.scalars(
                select(Posting.currency)
                .join(JournalEntry, JournalEntry.id == Posting.entry_id)
                .where(JournalEntry.account_id == account.id, JournalEntry.kind == "reversal")
            )
        )
    assert reversals and set(reversals) == {"USD"}
    assert await _currencies(db, account.id) == ({"USD"}, {"USD"})
    async with db.session() as s:
        memos = set(
            await s.scalars(
                select(JournalEntry.memo).where(
                    JournalEntry.account_id == account.id, JournalEntry.kind == "reversal"
                )
            )
        )
    # What the cabinet and the console show under the entry: Russian, naming what was undone.
    assert memos == {
        f"Сторно проводки №{charged.entry.id}: wrong",
        f"Сторно проводки №{paid.entry.id}: wrong",
    }


async def test_import_booking_and_payment_reversal_use_the_account_currency(
    db: Database, clock
) -> None:
    account = await _usd_account(db)
    text = csv_text(
        [("usd-1", account.number, "", "10.00", "usage", "2026-11", "2026-11-10", "", "")]
    )
    await import_charges(db, text, name="usd.csv", actor=ACTOR)
    booked = await db.run(
        lambda s: book_payment(
            s,
            PaymentRequest(
                account=account,
                amount_minor=400,
                method="office",
                source="office",
                source_txn_id="usd-pay",
                actor=ACTOR,
                currency="USD",
            ),
        )
    )
    await db.run(lambda s: reverse_payment(s, booked.payment.id, reason="test", actor=ACTOR))
    assert await _currencies(db, account.id) == ({"USD"}, {"USD"})
