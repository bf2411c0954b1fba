"""The statements that book a payment on PostgreSQL in two round trips instead of sixteen.

:func:`abonent.payments.service.book_payment` decides (replays, mismatches, what may be paid);
through the ORM unit of work the rows it then writes cost ~16 statements and most of a
payment's CPU. Here the same rows are written by one data-modifying statement, after one
statement that locks the balance row and looks for an earlier booking of the transaction.

The write covers the common case only and declines (writes nothing, returns None; the caller
then books through the ORM) when the account holds what it does not handle: a payment that is
to clear debt while other credits are open (allocation would match those first) or while
services are suspended for debt (it may restore them), a booking of the same transaction that
the locking statement did not see, or another SMS recipient than the one it read. The write
checks these itself, under the lock and with a snapshot taken after it: the locking
statement's own snapshot predates any transaction it waited for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, String, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.models.base import UTCDateTime

# Where an SMS about the account goes (payments.service.notice_recipient): its first SIM that is
# not closed, by id, else the customer's contact phone. Written twice below, from one source.
_RECIPIENT = """
    coalesce(
        (SELECT s.msisdn FROM services AS s
         WHERE s.account_id = :account_id AND s.kind = 'mobile' AND s.status <> 'closed'
           AND s.msisdn <> ''
         ORDER BY s.id LIMIT 1),
        (SELECT c.contact_phone FROM customers AS c WHERE c.id = :customer_id))
"""

# The payment id is drawn here, not by the insert, because the outbox payloads and the audit
# row carry it and are serialised in Python, exactly as the ORM path serialises them.
_LOCK = text(
    f"""
    SELECT b.balance_minor, b.debt_minor, p.id AS payment_id, p.fingerprint,
           EXISTS (SELECT 1 FROM services AS s
                   WHERE s.account_id = b.account_id AND s.status = 'suspended'
                     AND s.suspended_reason = 'debt') AS debt_suspended,
           {_RECIPIENT} AS recipient,
           CASE WHEN p.id IS NULL THEN nextval('payments_id_seq') END AS new_payment_id
    FROM account_balances AS b
    LEFT JOIN payments AS p ON p.source = :source AND p.source_txn_id = :source_txn_id
    WHERE b.account_id = :account_id
    FOR UPDATE OF b
    """  # noqa: S608 - the only interpolation is the constant above
).bindparams(
    bindparam("account_id", type_=BigInteger),
    bindparam("customer_id", type_=BigInteger),
    bindparam("source", type_=String),
    bindparam("source_txn_id", type_=String),
)

# Allocation as ledger.allocate does it for one new credit when no other credit is open: the
# open debits in (disputed, due_date, id) order, each taking min(what it owes, what is left of
# the payment). "remaining_minor > 0" stays a literal so that a generic plan can still use the
# partial index ix_open_items_open. Everything written hangs off "entry", which is empty when
# the guard fails: then nothing at all is written and no row comes back.
_WRITE = text(
    f"""
    WITH guard AS (
        SELECT
        WHERE NOT EXISTS (SELECT 1 FROM payments
                          WHERE source = :source AND source_txn_id = :source_txn_id)
          AND (NOT :allocate
               OR NOT EXISTS (SELECT 1 FROM open_items
                              WHERE account_id = :account_id AND side = 'credit'
                                AND remaining_minor > 0)
                  AND NOT EXISTS (SELECT 1 FROM services
                                  WHERE account_id = :account_id AND status = 'suspended'
                                    AND suspended_reason = 'debt'))
          AND {_RECIPIENT} IS NOT DISTINCT FROM :recipient
    ),
    entry AS (
        INSERT INTO journal_entries (account_id, kind, memo, reverses_entry_id, source, actor,
                                     business_date, created_at)
        SELECT :account_id, 'payment', :memo, NULL, :entry_source, :entry_actor,
               :business_date, :now
        FROM guard
        RETURNING id
    ),
    legs AS (
        INSERT INTO postings (entry_id, account_id, ledger, amount_minor, currency)
        SELECT entry.id, :account_id, leg.ledger, leg.amount_minor, :currency
        FROM entry,
             (VALUES (1, :counter_ledger, :amount_minor),
                     (2, 'subscriber', -:amount_minor)) AS leg (n, ledger, amount_minor)
        ORDER BY leg.n
    ),
    debits AS (
        SELECT id, remaining_minor,
               (sum(remaining_minor) OVER (ORDER BY disputed, due_date, id))::bigint
                   - remaining_minor AS before
        FROM open_items
        WHERE account_id = :account_id AND side = 'debit' AND remaining_minor > 0
          AND :allocate
    ),
    alloc AS (
        SELECT id, before, least(remaining_minor, :amount_minor - before) AS amount_minor
        FROM debits
        WHERE before < :amount_minor
    ),
    total AS (
        SELECT coalesce(sum(amount_minor), 0)::bigint AS amount_minor FROM alloc
    ),
    cleared AS (
        UPDATE open_items AS o
        SET remaining_minor = o.remaining_minor - alloc.amount_minor,
            cleared_at = CASE WHEN o.remaining_minor = alloc.amount_minor THEN :now END
        FROM alloc, entry
        WHERE o.id = alloc.id
        RETURNING o.id, o.remaining_minor, o.cleared_at, alloc.before
    ),
    credit AS (
        INSERT INTO open_items (account_id, service_id, entry_id, side, kind, amount_minor,
                                remaining_minor, currency, period, description, external_id,
                                charged_on, due_date, disputed, created_at, cleared_at)
        SELECT :account_id, NULL, entry.id, 'credit', 'payment', :amount_minor,
               :amount_minor - total.amount_minor, :currency, NULL, :memo, NULL,
               NULL, :business_date, false, :now,
               CASE WHEN total.amount_minor = :amount_minor THEN :now END
        FROM entry, total
        RETURNING id
    ),
    matched AS (
        INSERT INTO allocations (account_id, debit_item_id, credit_item_id, amount_minor,
                                 entry_id, created_at)
        SELECT :account_id, alloc.id, credit.id, alloc.amount_minor, entry.id, :now
        FROM alloc, credit, entry
        ORDER BY alloc.before
    ),
    balance AS (
        UPDATE account_balances AS b
        SET balance_minor = b.balance_minor + :amount_minor,
            debt_minor = b.debt_minor - total.amount_minor,
            entries_count = b.entries_count + 1,
            updated_at = :now
        FROM entry, total
        WHERE b.account_id = :account_id
        RETURNING b.balance_minor, b.debt_minor, b.entries_count
    ),
    payment AS (
        INSERT INTO payments (id, account_id, amount_minor, currency, method, source,
                              source_txn_id, fingerprint, status, agent_id, entry_id,
                              reversal_entry_id, reversal_reason, txn_date, comment, actor,
                              created_at, booked_at)
        SELECT :payment_id, :account_id, :amount_minor, :currency, :method, :source,
               :source_txn_id, :fingerprint, 'succeeded', :agent_id, entry.id,
               NULL, NULL, :txn_date, :comment, :actor,
               :now, :now
        FROM entry
    ),
    audit AS (
        INSERT INTO audit_events (at, actor, role, action, object_type, object_id, account_id,
                                  reason, details)
        SELECT :now, :actor, :role, 'payment.book', 'payment', :object_id, :account_id,
               NULL, :details
        FROM entry
    ),
    queued AS (
        INSERT INTO outbox (topic, payload, account_id, dedupe_key, status, attempts,
                            available_at, created_at, processed_at, last_error)
        SELECT message.topic, message.payload, :account_id, message.dedupe_key, 'pending', 0,
               :now, :now, NULL, NULL
        FROM entry,
             (VALUES (1, 'payment.booked', :booked_payload, NULL),
                     (2, 'sms.send', :sms_payload, :sms_key)) AS message (n, topic, payload,
                                                                         dedupe_key)
        WHERE message.n = 1 OR :notify
        ORDER BY message.n
    )
    SELECT entry.id AS entry_id, total.amount_minor AS allocated_minor,
           balance.balance_minor, balance.debt_minor, balance.entries_count,
           cleared.id AS item_id, cleared.remaining_minor AS item_remaining_minor,
           cleared.cleared_at AS item_cleared_at
    FROM entry CROSS JOIN total CROSS JOIN balance
    LEFT JOIN cleared ON true
    ORDER BY cleared.before
    """  # noqa: S608 - the only interpolation is the constant above
).bindparams(
    bindparam("account_id", type_=BigInteger),
    bindparam("customer_id", type_=BigInteger),
    bindparam("payment_id", type_=BigInteger),
    bindparam("amount_minor", type_=BigInteger),
    bindparam("agent_id", type_=BigInteger),
    bindparam("currency", type_=String),
    bindparam("method", type_=String),
    bindparam("source", type_=String),
    bindparam("source_txn_id", type_=String),
    bindparam("fingerprint", type_=String),
    bindparam("memo", type_=String),
    bindparam("entry_source", type_=String),
    bindparam("entry_actor", type_=String),
    bindparam("counter_ledger", type_=String),
    bindparam("comment", type_=String),
    bindparam("actor", type_=String),
    bindparam("role", type_=String),
    bindparam("object_id", type_=String),
    bindparam("recipient", type_=String),
    bindparam("sms_key", type_=String),
    bindparam("business_date", type_=Date),
    bindparam("now", type_=UTCDateTime()),
    bindparam("txn_date", type_=UTCDateTime()),
    bindparam("allocate", type_=Boolean),
    bindparam("notify", type_=Boolean),
    # The model's JSON columns serialise with the dialect's json.dumps; so do these.
    bindparam("details", type_=JSON),
    bindparam("booked_payload", type_=JSON),
    bindparam("sms_payload", type_=JSON),
)


@dataclass(frozen=True, slots=True)
class Locked:
    """The account's balance row, locked, and what the write needs to know beforehand."""

    balance_minor: int
    debt_minor: int
    existing_id: int | None
    """An earlier payment of the same (source, source_txn_id), if the lock's snapshot saw one."""
    existing_fingerprint: str | None
    debt_suspended: bool
    """Some service is suspended for debt: the payment may restore it (the ORM path does)."""
    recipient: str | None
    """Where the confirmation SMS goes (None: nowhere)."""
    new_payment_id: int | None
    """The id the new payment will have (drawn only when there is no earlier one)."""


@dataclass(frozen=True, slots=True)
class ClearedItem:
    id: int
    remaining_minor: int
    cleared_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Written:
    entry_id: int
    allocated_minor: int
    balance_minor: int
    debt_minor: int
    entries_count: int
    cleared: tuple[ClearedItem, ...]
    """The debit items the payment went to, in allocation order, as they are now."""


async def lock(
    session: AsyncSession, *, account_id: int, customer_id: int, source: str, source_txn_id: str
) -> Locked | None:
    """Lock the balance row (None: the account has none yet) and look for an earlier booking."""
    row = (
        await session.execute(
            _LOCK,
            {
                "account_id": account_id,
                "customer_id": customer_id,
                "source": source,
                "source_txn_id": source_txn_id,
            },
        )
    ).first()
    if row is None:
        return None
    return Locked(
        balance_minor=row.balance_minor,
        debt_minor=row.debt_minor,
        existing_id=row.payment_id,
        existing_fingerprint=row.fingerprint,
        debt_suspended=row.debt_suspended,
        recipient=row.recipient,
        new_payment_id=row.new_payment_id,
    )


async def write(session: AsyncSession, params: Mapping[str, Any]) -> Written | None:
    """Write the whole booking (see ``_WRITE`` for the parameters); None: declined, nothing
    was written."""
    rows = (await session.execute(_WRITE, dict(params))).all()
    if not rows:
        return None
    first = rows[0]
    return Written(
        entry_id=first.entry_id,
        allocated_minor=first.allocated_minor,
        balance_minor=first.balance_minor,
        debt_minor=first.debt_minor,
        entries_count=first.entries_count,
        cleared=tuple(
            ClearedItem(r.item_id, r.item_remaining_minor, _aware(r.item_cleared_at))
            for r in rows
            if r.item_id is not None
        ),
    )


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # What UTCDateTime would give back for a column read through the ORM.
    return None if value is None else value.astimezone(dt.UTC)
