"""The set-based booking of one payment on PostgreSQL: two statements instead of ~16–25.

:func:`abonent.payments.service.book_payment` decides (replays, mismatches, what may be paid)
and books through the ORM on SQLite; on PostgreSQL it books through :func:`lock` and
:func:`write`, which write row for row what the ORM path writes (proven by
``tests/ledger/test_pg_payment.py``, on every case the ORM path handles).

Contract.

- :func:`lock` locks the account's balance row (``FOR UPDATE``) and reads what the caller needs
  to decide: balance and debt, an earlier booking of ``(source, source_txn_id)``, the services
  suspended for debt, the SMS recipient, and a fresh payment id from ``payments_id_seq`` (only
  when there is no earlier booking). It writes nothing. None: the account has no balance row.
- :func:`write` must run in the same transaction, after :func:`lock`, with the decisions the
  caller made from it (``allocate``: ledger.allocate's own shortcut on the locked balance;
  ``restorable``: the payment allocates and the account is not closed; the payloads built in
  Python). In one data-modifying statement it writes:

  - ``journal_entries``: the payment entry; ``postings``: the counter ledger +amount and the
    subscriber ledger −amount;
  - ``open_items``: the payment's credit item, and the open items its allocation moves — the
    open debits, oldest due first, disputed last, matched by the open credits in the same
    order (older credits before the new one) exactly as ``ledger.allocate`` matches them;
    ``allocations``: one per (debit, credit) pair, in ``allocate``'s order;
  - ``account_balances``: balance, debt, entries_count, updated_at;
  - ``payments``: the payment row, with the id :func:`lock` drew;
  - for each service suspended for debt whose undisputed debits due before ``today`` are all
    cleared once the payment is matched (``payments.service.restore_paid_services``):
    ``services`` back to active, a ``service_status_changes`` row, an audit row
    ``service.active`` and an outbox ``service.restored`` message;
  - ``audit_events``: ``payment.book`` first, then the restorations; ``outbox``: the
    restorations, ``payment.booked``, and ``sms.send`` when there is a recipient — each table
    in one insert, so that ids follow the ORM path's order of creation.

- :func:`write` declines (writes nothing, returns None; the caller then books through the ORM)
  when what the caller decided from can have changed since :func:`lock` read it: a booking of
  the same transaction committed meanwhile (the locking statement's snapshot predates any
  transaction it waited for), another SMS recipient, or other services suspended for debt (or
  another kind or label of theirs) than the ``service.restored`` payloads name. It re-reads
  these itself, under the lock, with a snapshot taken after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, String, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.ledger.chart import SUBSCRIBER_LEDGER
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
           ARRAY(SELECT ARRAY[s.id::text, s.kind, s.label] FROM services AS s
                 WHERE s.account_id = b.account_id AND s.status = 'suspended'
                   AND s.suspended_reason = 'debt'
                 ORDER BY s.id) AS debt_suspended,
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

# The services suspended for debt, as the caller built their ``service.restored`` payloads from
# what the lock read; the write declines when they are not what it reads under the lock.
_RESTORE = "json_array_elements(CAST(:restore AS json)) WITH ORDINALITY"

# Allocation as ledger.allocate does it: the open debits in (disputed, due_date, id) order
# against the open credits in the same order, the new payment's own credit last among its
# date's (its id is the highest); each (debit, credit) pair whose running totals overlap is
# matched for the overlap, which is what allocate's merge of the two queues matches, in the
# same order. "remaining_minor > 0" stays a literal so that a generic plan can still use the
# partial index ix_open_items_open. Everything written hangs off "entry", which is empty when
# the guard fails: then nothing at all is written and no row comes back.
_WRITE = text(
    f"""
    WITH guard AS (
        SELECT
        WHERE NOT EXISTS (SELECT 1 FROM payments
                          WHERE source = :source AND source_txn_id = :source_txn_id)
          AND {_RECIPIENT} IS NOT DISTINCT FROM :recipient
          AND (NOT :restorable
               OR ARRAY(SELECT ARRAY[s.id::text, s.kind, s.label] FROM services AS s
                        WHERE s.account_id = :account_id AND s.status = 'suspended'
                          AND s.suspended_reason = 'debt'
                        ORDER BY s.id)
                  = ARRAY(SELECT ARRAY[c.payload ->> 'service_id', c.payload ->> 'kind',
                                       c.payload ->> 'label']
                          FROM {_RESTORE} AS c (payload, n) ORDER BY c.n))
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
                     (2, '{SUBSCRIBER_LEDGER}', -:amount_minor)) AS leg (n, ledger, amount_minor)
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
    credits AS (
        SELECT id, remaining_minor,
               (sum(remaining_minor) OVER (ORDER BY disputed, due_date, id NULLS LAST))::bigint
                   - remaining_minor AS before
        FROM (SELECT id, remaining_minor, disputed, due_date
              FROM open_items
              WHERE account_id = :account_id AND side = 'credit' AND remaining_minor > 0
                AND :allocate
              UNION ALL
              SELECT NULL, :amount_minor, false, :business_date
              WHERE :allocate) AS c
    ),
    alloc AS (
        SELECT d.id AS debit_id, c.id AS credit_id, greatest(d.before, c.before) AS start,
               least(d.before + d.remaining_minor, c.before + c.remaining_minor)
                   - greatest(d.before, c.before) AS amount_minor
        FROM debits AS d
        JOIN credits AS c
          ON c.before < d.before + d.remaining_minor AND d.before < c.before + c.remaining_minor
    ),
    total AS (
        SELECT coalesce(sum(amount_minor), 0)::bigint AS amount_minor,
               coalesce(sum(amount_minor) FILTER (WHERE credit_id IS NULL), 0)::bigint AS own
        FROM alloc
    ),
    moved AS (
        SELECT debit_id AS id, sum(amount_minor)::bigint AS amount_minor, min(start) AS start
        FROM alloc GROUP BY debit_id
        UNION ALL
        SELECT credit_id, sum(amount_minor)::bigint, min(start)
        FROM alloc WHERE credit_id IS NOT NULL GROUP BY credit_id
    ),
    cleared AS (
        UPDATE open_items AS o
        SET remaining_minor = o.remaining_minor - moved.amount_minor,
            cleared_at = CASE WHEN o.remaining_minor = moved.amount_minor THEN :now END
        FROM moved, entry
        WHERE o.id = moved.id
        RETURNING o.id, o.remaining_minor, o.cleared_at, moved.start
    ),
    credit AS (
        INSERT INTO open_items (account_id, service_id, entry_id, side, kind, amount_minor,
                                remaining_minor, currency, period, description, external_id,
                                charged_on, due_date, disputed, created_at, cleared_at)
        SELECT :account_id, NULL, entry.id, 'credit', 'payment', :amount_minor,
               :amount_minor - total.own, :currency, NULL, :memo, NULL,
               NULL, :business_date, false, :now,
               CASE WHEN total.own = :amount_minor THEN :now END
        FROM entry, total
        RETURNING id
    ),
    matched AS (
        INSERT INTO allocations (account_id, debit_item_id, credit_item_id, amount_minor,
                                 entry_id, created_at)
        SELECT :account_id, alloc.debit_id, coalesce(alloc.credit_id, credit.id),
               alloc.amount_minor, entry.id, :now
        FROM alloc, credit, entry
        ORDER BY alloc.start
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
    -- payments.service.restore_paid_services: a service suspended for debt comes back when
    -- none of its undisputed debits due before today is still open once the payment is matched.
    restored AS (
        SELECT (c.payload ->> 'service_id')::bigint AS id, c.payload, c.n
        FROM {_RESTORE} AS c (payload, n), entry
        WHERE :restorable AND EXISTS (SELECT 1 FROM alloc)
          AND NOT EXISTS (
              SELECT 1 FROM open_items AS o
              LEFT JOIN moved AS m ON m.id = o.id
              WHERE o.account_id = :account_id
                AND o.service_id = (c.payload ->> 'service_id')::bigint
                AND o.side = 'debit' AND o.remaining_minor > 0 AND NOT o.disputed
                AND o.due_date < :today
                AND o.remaining_minor > coalesce(m.amount_minor, 0))
    ),
    reactivated AS (
        UPDATE services AS s
        SET status = 'active', suspended_reason = NULL
        WHERE :restorable AND s.account_id = :account_id
          AND s.id IN (SELECT restored.id FROM restored)
    ),
    changes AS (
        INSERT INTO service_status_changes (service_id, account_id, from_status, to_status,
                                            reason, actor, at)
        SELECT restored.id, :account_id, 'suspended', 'active', :restore_reason,
               :entry_actor, :now
        FROM restored
        ORDER BY restored.n
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
    -- One insert per table, so that the ids follow the ORM path's order of creation.
    audit AS (
        INSERT INTO audit_events (at, actor, role, action, object_type, object_id, account_id,
                                  reason, details)
        SELECT :now, :actor, :role, event.action, event.object_type, event.object_id,
               :account_id, event.reason, event.details
        FROM entry,
             (SELECT 0::bigint AS n, 'payment.book' AS action, 'payment' AS object_type,
                     :object_id AS object_id, NULL::text AS reason,
                     CAST(:details AS json) AS details
              UNION ALL
              SELECT restored.n, 'service.active', 'service', restored.id::text,
                     :restore_reason, CAST(:no_details AS json)
              FROM restored) AS event
        ORDER BY event.n
    ),
    queued AS (
        INSERT INTO outbox (topic, payload, account_id, dedupe_key, status, attempts,
                            available_at, created_at, processed_at, last_error)
        SELECT message.topic, message.payload, :account_id, message.dedupe_key, 'pending', 0,
               :now, :now, NULL, NULL
        FROM entry,
             (SELECT 0 AS k, restored.n AS n, 'service.restored' AS topic,
                     restored.payload AS payload, NULL::text AS dedupe_key
              FROM restored
              UNION ALL
              SELECT 1, 1, 'payment.booked', CAST(:booked_payload AS json), NULL
              UNION ALL
              SELECT 1, 2, 'sms.send', CAST(:sms_payload AS json), :sms_key
              WHERE :notify) AS message
        ORDER BY message.k, message.n
    )
    SELECT entry.id AS entry_id, total.amount_minor AS allocated_minor,
           balance.balance_minor, balance.debt_minor, balance.entries_count,
           ARRAY(SELECT restored.id FROM restored ORDER BY restored.n) AS restored_ids,
           cleared.id AS item_id, cleared.remaining_minor AS item_remaining_minor,
           cleared.cleared_at AS item_cleared_at
    FROM entry CROSS JOIN total CROSS JOIN balance
    LEFT JOIN cleared ON true
    ORDER BY cleared.start, cleared.id
    """  # noqa: S608 - the only interpolations are the constants above
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
    bindparam("restore_reason", type_=String),
    bindparam("business_date", type_=Date),
    bindparam("today", type_=Date),
    bindparam("now", type_=UTCDateTime()),
    bindparam("txn_date", type_=UTCDateTime()),
    bindparam("allocate", type_=Boolean),
    bindparam("restorable", type_=Boolean),
    bindparam("notify", type_=Boolean),
    # The model's JSON columns serialise with the dialect's json.dumps; so do these.
    bindparam("details", type_=JSON),
    bindparam("no_details", type_=JSON),
    bindparam("booked_payload", type_=JSON),
    bindparam("sms_payload", type_=JSON),
    bindparam("restore", type_=JSON),
)


@dataclass(frozen=True, slots=True)
class SuspendedService:
    id: int
    kind: str
    label: str


@dataclass(frozen=True, slots=True)
class Locked:
    """The account's balance row, locked, and what the write needs to know beforehand."""

    balance_minor: int
    debt_minor: int
    existing_id: int | None
    """An earlier payment of the same (source, source_txn_id), if the lock's snapshot saw one."""
    existing_fingerprint: str | None
    debt_suspended: tuple[SuspendedService, ...]
    """The services suspended for debt, by id: the payment may restore them."""
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
    """The open items the payment's allocations moved (debits, and older credits spent first),
    in allocation order, as they are now."""
    restored_service_ids: tuple[int, ...]
    """The services suspended for debt that the payment brought back, by id."""


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
        debt_suspended=tuple(
            SuspendedService(int(id_), kind, label) for id_, kind, label in row.debt_suspended
        ),
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
        restored_service_ids=tuple(first.restored_ids),
        cleared=tuple(
            ClearedItem(r.item_id, r.item_remaining_minor, _aware(r.item_cleared_at))
            for r in rows
            if r.item_id is not None
        ),
    )


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # What UTCDateTime would give back for a column read through the ORM.
    return None if value is None else value.astimezone(dt.UTC)
