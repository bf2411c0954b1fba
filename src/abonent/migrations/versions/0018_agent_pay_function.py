"""abonent_agent_pay: a payment agent's payment booked in one statement on PostgreSQL

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 05:30:00

PostgreSQL only (SQLite books through the ORM path). The contract of the function is stated in
``abonent.ledger.pg_agent_pay``, the only caller; ``tests/ledger/test_pg_payment.py`` proves
that it writes, row for row, what the ORM path writes. It is frozen here: a later change of the
rule is a new migration that replaces the function.

Why a function: an OSMP ``pay`` took five round trips (BEGIN, agent and account, lock, write,
COMMIT), and on a two-core machine each one is a wake-up of the other process as well as the
statement's own overhead. As one statement in autocommit it is one round trip, one snapshot per
step inside (so a booking of the same transaction committed while we waited for the lock is
seen), and atomic: the statement commits whole or not at all.

No foreign key was dropped: the ~25 checks per payment cost ~0.4 ms of PostgreSQL's CPU, and
each guards a table that other code writes too.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Python's json.dumps of one string (ensure_ascii, as the JSON columns are written by the ORM
# path): '"', '\\', the five short escapes, every other character outside printable ASCII as
# \\u with four lowercase hex digits (a surrogate pair above the BMP). Printable ASCII without
# a quote or backslash (account numbers, MSISDNs, service kinds) takes the first line.
_JSON_TEXT = r"""
CREATE FUNCTION abonent_json_text(s text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    v_out text := '"';
    c text;
    cp integer;
BEGIN
    IF s !~ '[^ -~]' AND strpos(s, '"') = 0 AND strpos(s, '\') = 0 THEN
        RETURN '"' || s || '"';
    END IF;
    FOREACH c IN ARRAY regexp_split_to_array(s, '') LOOP
        cp := ascii(c);
        IF c = '"' THEN
            v_out := v_out || '\"';
        ELSIF c = '\' THEN
            v_out := v_out || '\\';
        ELSIF cp = 10 THEN
            v_out := v_out || '\n';
        ELSIF cp = 13 THEN
            v_out := v_out || '\r';
        ELSIF cp = 9 THEN
            v_out := v_out || '\t';
        ELSIF cp = 8 THEN
            v_out := v_out || '\b';
        ELSIF cp = 12 THEN
            v_out := v_out || '\f';
        ELSIF cp BETWEEN 32 AND 126 THEN
            v_out := v_out || c;
        ELSIF cp < 65536 THEN
            v_out := v_out || '\u' || lpad(to_hex(cp), 4, '0');
        ELSE
            cp := cp - 65536;
            v_out := v_out || '\u' || to_hex(55296 + (cp >> 10))
                           || '\u' || to_hex(56320 + (cp & 1023));
        END IF;
    END LOOP;
    RETURN v_out || '"';
END
$fn$
"""

# The decisions are payments.service.book_payment's and payments.agents.osmp.pay's, in their
# order; every case they refuse, and every case this function does not handle, answers
# 'fallback' having written nothing, and the caller takes the general path. The write is the
# statement of ledger/pg_payment.py (proven there), with the services to restore read in it.
_AGENT_PAY = r"""
CREATE FUNCTION abonent_agent_pay(
    p_agent_id bigint,
    p_agent_digest text,
    p_number text,
    p_amount bigint,
    p_currency text,
    p_fingerprint text,
    p_method text,
    p_source text,
    p_txn_id text,
    p_actor text,
    p_role text,
    p_txn_date timestamptz,
    p_comment text,
    p_memo text,
    p_entry_source text,
    p_counter_ledger text,
    p_details text,
    p_booked_tail text,
    p_sms_middle text,
    p_restore_reason text,
    p_business_date date,
    p_today date,
    p_now timestamptz,
    OUT o_outcome text,
    OUT o_payment_id bigint,
    OUT o_amount_minor bigint,
    OUT o_restored_ids bigint[]
)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_account_id bigint;
    v_customer_id bigint;
    v_status text;
    v_currency text;
    v_balance bigint;
    v_debt bigint;
    v_existing_id bigint;
    v_existing_print text;
    v_existing_amount bigint;
    v_allocate boolean;
    v_restorable boolean;
    v_to text;
    v_payment_id bigint;
BEGIN
    o_outcome := 'fallback';
    -- The caller authorised the agent from a copy of its row: only that very row may book.
    IF p_agent_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM payment_agents AS a
        WHERE a.id = p_agent_id AND md5(a::text) = p_agent_digest
    ) THEN
        o_outcome := 'agent';
        RETURN;
    END IF;
    SELECT a.id, a.customer_id, a.status, a.currency
      INTO v_account_id, v_customer_id, v_status, v_currency
      FROM accounts AS a WHERE a.number = p_number;
    IF NOT FOUND OR v_currency <> p_currency THEN
        RETURN;
    END IF;
    SELECT b.balance_minor, b.debt_minor INTO v_balance, v_debt
      FROM account_balances AS b WHERE b.account_id = v_account_id
      FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- A new snapshot: a booking of this transaction committed while we waited is seen here.
    SELECT p.id, p.fingerprint, p.amount_minor
      INTO v_existing_id, v_existing_print, v_existing_amount
      FROM payments AS p WHERE p.source = p_source AND p.source_txn_id = p_txn_id;
    IF FOUND THEN
        IF v_existing_print = p_fingerprint THEN
            o_outcome := 'replay';
            o_payment_id := v_existing_id;
            o_amount_minor := v_existing_amount;
        END IF;
        RETURN;
    END IF;
    -- payments.service.check_payable: what it refuses, the general path refuses.
    IF p_amount <= 0 OR (v_status = 'closed' AND (v_debt <= 0 OR p_amount > v_debt)) THEN
        RETURN;
    END IF;
    -- ledger.allocate's own shortcut, on the balance as it is once the credit is posted; only a
    -- payment that clears debt can restore a service, and a closed account's never are.
    v_allocate := v_debt > 0 AND v_debt + v_balance + p_amount > 0;
    v_restorable := v_allocate AND v_status <> 'closed' AND EXISTS (
        SELECT 1 FROM services AS s
        WHERE s.account_id = v_account_id AND s.status = 'suspended'
          AND s.suspended_reason = 'debt');
    -- payments.service.notice_recipient: the first SIM not closed, else the contact phone.
    v_to := coalesce(
        (SELECT s.msisdn FROM services AS s
         WHERE s.account_id = v_account_id AND s.kind = 'mobile' AND s.status <> 'closed'
           AND s.msisdn <> ''
         ORDER BY s.id LIMIT 1),
        (SELECT c.contact_phone FROM customers AS c WHERE c.id = v_customer_id));
    v_payment_id := nextval('payments_id_seq');

    WITH entry AS (
        INSERT INTO journal_entries (account_id, kind, memo, reverses_entry_id, source, actor,
                                     business_date, created_at)
        VALUES (v_account_id, 'payment', p_memo, NULL, p_entry_source, p_actor,
                p_business_date, p_now)
        RETURNING id
    ),
    legs AS (
        INSERT INTO postings (entry_id, account_id, ledger, amount_minor, currency)
        SELECT entry.id, v_account_id, leg.ledger, leg.amount_minor, p_currency
        FROM entry,
             (VALUES (1, p_counter_ledger, p_amount),
                     (2, 'subscriber', -p_amount)) AS leg (n, ledger, amount_minor)
        ORDER BY leg.n
    ),
    debits AS (
        SELECT o.id, o.remaining_minor,
               (sum(o.remaining_minor) OVER (ORDER BY o.disputed, o.due_date, o.id))::bigint
                   - o.remaining_minor AS before
        FROM open_items AS o
        WHERE o.account_id = v_account_id AND o.side = 'debit' AND o.remaining_minor > 0
          AND v_allocate
    ),
    credits AS (
        SELECT c.id, c.remaining_minor,
               (sum(c.remaining_minor)
                    OVER (ORDER BY c.disputed, c.due_date, c.id NULLS LAST))::bigint
                   - c.remaining_minor AS before
        FROM (SELECT o.id, o.remaining_minor, o.disputed, o.due_date
              FROM open_items AS o
              WHERE o.account_id = v_account_id AND o.side = 'credit' AND o.remaining_minor > 0
                AND v_allocate
              UNION ALL
              SELECT NULL, p_amount, false, p_business_date
              WHERE v_allocate) AS c
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
        SELECT coalesce(sum(alloc.amount_minor), 0)::bigint AS amount_minor,
               coalesce(sum(alloc.amount_minor) FILTER (WHERE alloc.credit_id IS NULL),
                        0)::bigint AS own
        FROM alloc
    ),
    moved AS (
        SELECT alloc.debit_id AS id, sum(alloc.amount_minor)::bigint AS amount_minor,
               min(alloc.start) AS start
        FROM alloc GROUP BY alloc.debit_id
        UNION ALL
        SELECT alloc.credit_id, sum(alloc.amount_minor)::bigint, min(alloc.start)
        FROM alloc WHERE alloc.credit_id IS NOT NULL GROUP BY alloc.credit_id
    ),
    cleared AS (
        UPDATE open_items AS o
        SET remaining_minor = o.remaining_minor - moved.amount_minor,
            cleared_at = CASE WHEN o.remaining_minor = moved.amount_minor THEN p_now END
        FROM moved, entry
        WHERE o.id = moved.id
        RETURNING o.id
    ),
    credit AS (
        INSERT INTO open_items (account_id, service_id, entry_id, side, kind, amount_minor,
                                remaining_minor, currency, period, description, external_id,
                                charged_on, due_date, disputed, created_at, cleared_at)
        SELECT v_account_id, NULL, entry.id, 'credit', 'payment', p_amount,
               p_amount - total.own, p_currency, NULL, p_memo, NULL,
               NULL, p_business_date, false, p_now,
               CASE WHEN total.own = p_amount THEN p_now END
        FROM entry, total
        RETURNING id
    ),
    matched AS (
        INSERT INTO allocations (account_id, debit_item_id, credit_item_id, amount_minor,
                                 entry_id, created_at)
        SELECT v_account_id, alloc.debit_id, coalesce(alloc.credit_id, credit.id),
               alloc.amount_minor, entry.id, p_now
        FROM alloc, credit, entry
        ORDER BY alloc.start
    ),
    balance AS (
        UPDATE account_balances AS b
        SET balance_minor = b.balance_minor + p_amount,
            debt_minor = b.debt_minor - total.amount_minor,
            entries_count = b.entries_count + 1,
            updated_at = p_now
        FROM entry, total
        WHERE b.account_id = v_account_id
        RETURNING b.account_id
    ),
    suspended AS (
        SELECT s.id, s.kind, s.label, row_number() OVER (ORDER BY s.id) AS n
        FROM services AS s
        WHERE v_restorable AND s.account_id = v_account_id AND s.status = 'suspended'
          AND s.suspended_reason = 'debt'
    ),
    -- payments.service.restore_paid_services: a service suspended for debt comes back when
    -- none of its undisputed debits due before today is still open once the payment is matched.
    restored AS (
        SELECT sp.id, sp.n,
               '{"service_id": ' || sp.id || ', "kind": ' || abonent_json_text(sp.kind)
                   || ', "label": ' || abonent_json_text(sp.label)
                   || ', "account_number": ' || abonent_json_text(p_number) || '}' AS payload
        FROM suspended AS sp, entry
        WHERE EXISTS (SELECT 1 FROM alloc)
          AND NOT EXISTS (
              SELECT 1 FROM open_items AS o
              LEFT JOIN moved AS m ON m.id = o.id
              WHERE o.account_id = v_account_id
                AND o.service_id = sp.id
                AND o.side = 'debit' AND o.remaining_minor > 0 AND NOT o.disputed
                AND o.due_date < p_today
                AND o.remaining_minor > coalesce(m.amount_minor, 0))
    ),
    reactivated AS (
        UPDATE services AS s
        SET status = 'active', suspended_reason = NULL
        WHERE v_restorable AND s.account_id = v_account_id
          AND s.id IN (SELECT restored.id FROM restored)
    ),
    changes AS (
        INSERT INTO service_status_changes (service_id, account_id, from_status, to_status,
                                            reason, actor, at)
        SELECT restored.id, v_account_id, 'suspended', 'active', p_restore_reason,
               p_actor, p_now
        FROM restored
        ORDER BY restored.n
    ),
    payment AS (
        INSERT INTO payments (id, account_id, amount_minor, currency, method, source,
                              source_txn_id, fingerprint, status, agent_id, entry_id,
                              reversal_entry_id, reversal_reason, txn_date, comment, actor,
                              created_at, booked_at)
        SELECT v_payment_id, v_account_id, p_amount, p_currency, p_method, p_source,
               p_txn_id, p_fingerprint, 'succeeded', p_agent_id, entry.id,
               NULL, NULL, p_txn_date, p_comment, left(p_actor, 128),
               p_now, p_now
        FROM entry
    ),
    -- One insert per table, so that the ids follow the ORM path's order of creation.
    audit AS (
        INSERT INTO audit_events (at, actor, role, action, object_type, object_id, account_id,
                                  reason, details)
        SELECT p_now, left(p_actor, 128), p_role, event.action, event.object_type,
               event.object_id, v_account_id, event.reason, event.details
        FROM entry,
             (SELECT 0::bigint AS n, 'payment.book' AS action, 'payment' AS object_type,
                     v_payment_id::text AS object_id, NULL::text AS reason,
                     CAST(p_details AS json) AS details
              UNION ALL
              SELECT restored.n, 'service.active', 'service', restored.id::text,
                     p_restore_reason, CAST('{}' AS json)
              FROM restored) AS event
        ORDER BY event.n
    ),
    queued AS (
        INSERT INTO outbox (topic, payload, account_id, dedupe_key, status, attempts,
                            available_at, created_at, processed_at, last_error)
        SELECT message.topic, CAST(message.payload AS json), v_account_id, message.dedupe_key,
               'pending', 0, p_now, p_now, NULL, NULL
        FROM entry,
             (SELECT 0 AS k, restored.n AS n, 'service.restored' AS topic,
                     restored.payload AS payload, NULL::text AS dedupe_key
              FROM restored
              UNION ALL
              SELECT 1, 1, 'payment.booked',
                     '{"payment_id": ' || v_payment_id || p_booked_tail, NULL
              UNION ALL
              SELECT 1, 2, 'sms.send',
                     '{"to": ' || abonent_json_text(v_to) || p_sms_middle || v_payment_id
                         || '}',
                     'sms:payment:' || v_payment_id
              WHERE v_to IS NOT NULL) AS message
        ORDER BY message.k, message.n
    )
    SELECT ARRAY(SELECT restored.id FROM restored ORDER BY restored.n)
      INTO o_restored_ids;

    o_outcome := 'booked';
    o_payment_id := v_payment_id;
    o_amount_minor := p_amount;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_JSON_TEXT)
    op.execute(_AGENT_PAY)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS abonent_agent_pay")
    op.execute("DROP FUNCTION IF EXISTS abonent_json_text")
