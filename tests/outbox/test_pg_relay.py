"""The relay's one-statement steps on PostgreSQL write exactly what the session path writes.

One scenario of outbox rows (fresh and due, not yet due, under a live lease, a lease run out
with attempts left, a lease run out on the last attempt, already done) is claimed through
``outbox.claim_due`` in a session, and again, on the same scenario rebuilt, through
``outbox.claim_due_on`` on a bare driver connection; then the claimed batch is recorded as
delivered through ``record_outcomes`` and through ``record_delivered_on`` (one claim of it lost
to another relay meanwhile), and its SMS through ``sms.record_sent_many`` and
``sms.record_first_sent_on``. The clock is frozen and identities restart, so every row compares
exactly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.outbox import service as outbox
from abonent.sms import service as sms

pytestmark = pytest.mark.postgres_only

LEASE = dt.timedelta(seconds=60)
MAX_ATTEMPTS = 3


async def _build(db: Database, now: dt.datetime) -> None:
    """Messages 1-3 due and fresh, 4 due later, 5 under a live lease, 6 lost with attempts
    left, 7 lost on its last attempt, 8 done, 9 due but the sixth in line (a limit of 5)."""
    async with db.session(write=True) as s:
        await s.execute(
            text(
                "TRUNCATE outbox, outbox_attempts, sms_messages, sms_parts RESTART IDENTITY CASCADE"
            )
        )
        rows: list[dict[str, Any]] = [
            {"status": "pending", "attempts": 0, "at": now - dt.timedelta(minutes=9)},
            {"status": "pending", "attempts": 0, "at": now - dt.timedelta(minutes=8)},
            {"status": "pending", "attempts": 0, "at": now - dt.timedelta(minutes=7)},
            {"status": "pending", "attempts": 0, "at": now + dt.timedelta(minutes=5)},
            {"status": "pending", "attempts": 1, "at": now - dt.timedelta(minutes=6),
             "until": now + dt.timedelta(seconds=30)},
            {"status": "pending", "attempts": 1, "at": now - dt.timedelta(minutes=5),
             "until": now - dt.timedelta(seconds=1), "error": "earlier"},
            {"status": "pending", "attempts": 3, "at": now - dt.timedelta(minutes=4),
             "until": now - dt.timedelta(seconds=5)},
            {"status": "done", "attempts": 1, "at": now - dt.timedelta(minutes=10)},
            {"status": "pending", "attempts": 0, "at": now - dt.timedelta(minutes=1)},
        ]  # fmt: skip
        for n, row in enumerate(rows, 1):
            await s.execute(
                text(
                    "INSERT INTO outbox (topic, payload, status, attempts, available_at,"
                    " claimed_until, created_at, last_error, dedupe_key)"
                    " VALUES ('sms.send', CAST(:payload AS json), :status, :attempts, :at,"
                    " :until, :at, :error, :key)"
                ),
                {
                    "payload": f'{{"to": "+7916000000{n}", "text": "Сообщение № {n}"}}',
                    "status": row["status"],
                    "attempts": row["attempts"],
                    "at": row["at"],
                    "until": row.get("until"),
                    "error": row.get("error"),
                    "key": f"k{n}",
                },
            )


async def _rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    async with db.session() as s:
        return {
            table: [tuple(r) for r in (await s.execute(text(query))).all()]
            for table, query in {
                "outbox": "SELECT id, status, attempts, claimed_until, last_error, processed_at,"
                " available_at FROM outbox ORDER BY id",
                # Attempt rows: their ids follow the order of insertion, which need not match.
                "outbox_attempts": "SELECT message_id, ok, error, at FROM outbox_attempts"
                " ORDER BY message_id, at, ok, error",
                "sms_messages": "SELECT id, outbox_message_id, to_msisdn, category, status, parts,"
                " created_at, sent_at, finished_at, reason FROM sms_messages ORDER BY id",
                "sms_parts": "SELECT sms_id, seq, gateway_message_id, state FROM sms_parts"
                " ORDER BY sms_id, seq",
            }.items()
        }


async def _scenario(db: Database, now: dt.datetime, *, one_statement: bool) -> dict[str, Any]:
    await _build(db, now)
    if one_statement:
        async with db.statement_connection() as connection:
            claimed = await outbox.claim_due_on(
                connection, limit=5, lease=LEASE, max_attempts=MAX_ATTEMPTS
            )
    else:
        claimed = await db.run(
            lambda s: outbox.claim_due(s, limit=5, lease=LEASE, max_attempts=MAX_ATTEMPTS)
        )
    after_claim = await _rows(db)
    # Another relay took message 1 meanwhile (its lease ran out there): this claim of it is lost.
    async with db.session(write=True) as s:
        await s.execute(text("UPDATE outbox SET attempts = attempts + 1 WHERE id = 1"))
    sent = [
        sms.Sent(c.id, str(c.payload["to"]), "service", (f"g{c.id}a", f"g{c.id}b")[: c.id % 2 + 1],
                 c.attempt == 1)
        for c in claimed.claims
        if c.attempt == 1
    ]  # fmt: skip
    if one_statement:
        async with db.statement_connection() as connection:
            await sms.record_first_sent_on(connection, sent)
        async with db.statement_connection() as connection:
            outcomes = await outbox.record_delivered_on(connection, claimed.claims)
    else:
        await db.run(lambda s: sms.record_sent_many(s, sent))
        outcomes = await db.run(
            lambda s: outbox.record_outcomes(
                s,
                [outbox.Result(c) for c in claimed.claims],
                max_attempts=MAX_ATTEMPTS,
                retry_base_seconds=1.0,
            )
        )
    return {
        "claims": claimed.claims,
        "dead": claimed.dead,
        "after_claim": after_claim,
        "outcomes": outcomes,
        "after_record": await _rows(db),
    }


async def test_the_one_statement_steps_write_what_the_session_path_writes(
    db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    session_path = await _scenario(db, now, one_statement=False)
    one_statement = await _scenario(db, now, one_statement=True)

    # The scenario reaches every case: fresh claims, a lost lease claimed again, one given up,
    # the live lease, the later and the done message untouched, the limit respected.
    claims = session_path["claims"]
    assert [(c.id, c.attempt) for c in claims] == [(1, 1), (2, 1), (3, 1), (6, 2)]
    assert session_path["dead"] == 1
    assert session_path["outcomes"] == ["lost", "done", "done", "done"]
    outbox_rows = {r[0]: r for r in session_path["after_record"]["outbox"]}
    assert outbox_rows[7][1:3] == ("dead", 3) and outbox_rows[7][4] == outbox.LEASE_EXPIRED
    assert outbox_rows[4][1:3] == ("pending", 0) and outbox_rows[5][1:3] == ("pending", 1)
    assert outbox_rows[6][1] == "done" and outbox_rows[8][1] == "done"
    assert outbox_rows[9][1:4] == ("pending", 0, None)
    assert len(session_path["after_record"]["sms_parts"]) == 5
    lost = [r for r in session_path["after_claim"]["outbox_attempts"] if not r[1]]
    assert [r[0] for r in lost] == [6, 7]

    assert one_statement == session_path


async def test_a_batch_with_a_failure_takes_the_session_unit(
    db: Database, clock: FrozenClock
) -> None:
    # record_delivered_on is for whole successes only: the relay sends any failure to
    # record_outcomes, which schedules the retry (checked here on the same rows).
    await _build(db, clock.now())
    async with db.statement_connection() as connection:
        claimed = await outbox.claim_due_on(connection, limit=2, lease=LEASE, max_attempts=3)
    outcomes = await db.run(
        lambda s: outbox.record_outcomes(
            s,
            [outbox.Result(claimed.claims[0], "timeout"), outbox.Result(claimed.claims[1])],
            max_attempts=3,
            retry_base_seconds=1.0,
        )
    )
    assert outcomes == ["retry", "done"]
    rows = {r[0]: r for r in (await _rows(db))["outbox"]}
    assert rows[1][1:5] == ("pending", 1, None, "timeout")
    assert rows[2][1] == "done"
