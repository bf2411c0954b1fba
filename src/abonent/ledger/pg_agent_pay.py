"""A payment agent's payment booked in one statement on PostgreSQL: ``abonent_agent_pay``.

The function is created by migration 0018; this module is its only caller. It runs on a
connection with no transaction open (``Database.statement_connection``), so the one statement
is the whole unit of work: one round trip, committed whole or not at all.

Contract of ``abonent_agent_pay`` (the parameters are :class:`AgentPayment`'s fields):

- With ``agent_id`` and ``agent_digest``: nothing happens (outcome ``agent``) unless the row
  ``payment_agents.id = agent_id`` still has ``md5(row::text) = agent_digest``, i.e. it is,
  every column, the row the caller authorised the request against.
- It then decides as ``payments.agents.osmp.pay`` and ``payments.service.book_payment`` decide,
  in their order: the account by number; its currency must be ``currency``; the balance row is
  locked (``FOR UPDATE``); an earlier payment of ``(source, txn_id)`` with ``fingerprint`` is a
  replay (outcome ``replay``, its id and amount), with another fingerprint a mismatch;
  ``check_payable``'s refusals. Every refusal, and every case it does not handle (no account,
  another currency, no balance row, a mismatch), is outcome ``fallback``: nothing was written,
  and the caller takes the general path, which decides and answers as it always has.
- Otherwise (outcome ``booked``, the new payment's id and amount, the services it restored) it
  writes what the ORM path writes, in the same order of creation (the statement of
  :mod:`abonent.ledger.pg_payment`): the payment entry and its two postings; the credit open
  item and the allocations to the open debits, oldest due first, disputed last, older credits
  spent first; the balance; the services suspended for debt whose overdue debits are all
  cleared, back to active with a status change, an audit row ``service.active`` and an outbox
  ``service.restored``; the payment row; the audit row ``payment.book``; the outbox messages
  ``payment.booked`` and ``sms.send`` (when there is a recipient).
- JSON is written as the ORM path serialises it (Python's ``json.dumps``): ``details`` whole,
  the two payloads that carry the payment id as the text around it (:func:`payload_parts`), the
  service and recipient strings by ``abonent_json_text``.

``tests/ledger/test_pg_payment.py`` books its whole scenario through this function too and
compares every row with the ORM path's.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, Literal

import asyncpg

Outcome = Literal["booked", "replay", "fallback", "agent"]

_CALL = (
    "SELECT o_outcome, o_payment_id, o_amount_minor, o_restored_ids FROM abonent_agent_pay("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,"
    " $21, $22, $23)"
)


@dataclass(frozen=True, slots=True)
class AgentPayment:
    """The function's parameters, in its order."""

    agent_id: int | None
    agent_digest: str | None
    number: str
    amount_minor: int
    currency: str
    fingerprint: str
    method: str
    source: str
    txn_id: str
    actor: str
    role: str | None
    txn_date: dt.datetime | None
    comment: str | None
    memo: str
    entry_source: str
    counter_ledger: str
    details: str
    """The audit row's details, as JSON text."""
    booked_tail: str
    """``payment.booked``'s payload after ``{"payment_id": <id>``."""
    sms_middle: str
    """``sms.send``'s payload between ``{"to": <recipient>`` and ``<id>}``."""
    restore_reason: str
    business_date: dt.date
    today: dt.date
    now: dt.datetime


# The parameters in order; dataclasses.astuple deep-copies every value and cost ~0.1 ms a call.
_values = attrgetter(*(f.name for f in fields(AgentPayment)))


@dataclass(frozen=True, slots=True)
class Once:
    outcome: Outcome
    payment_id: int | None = None
    amount_minor: int | None = None
    restored_service_ids: tuple[int, ...] = ()


class OutcomeUnknown(Exception):
    """The statement was sent and the connection failed before its answer: it may have
    committed. The caller answers "not finished, retry"; the retry finds it or books it."""


_MARKER = -7_301_999_173  # an integer: serialised bare, as the id will be
_MARKER_TEXT = json.dumps(_MARKER)


def payload_parts(payload: dict[str, Any], key: str) -> tuple[str, str]:
    """``json.dumps(payload)`` split around the value of ``key`` (an integer the database
    fills in): the text before it and after it, exactly as the whole would serialise."""
    text = json.dumps({**payload, key: _MARKER})
    before, found, after = text.partition(_MARKER_TEXT)
    if not found or _MARKER_TEXT in after:
        raise ValueError("the marker must occur once")
    return before, after


async def pay(connection: Any, payment: AgentPayment) -> Once:
    """Run the function on ``connection`` (asyncpg, no transaction open).

    A refusal by the server (a lock timeout, a deadlock, a lost unique race, a function not yet
    created) rolled the statement back: outcome ``fallback``, and the general path, with its
    retries, takes over. A connection that fails once the statement is sent raises
    :class:`OutcomeUnknown`.
    """
    try:
        row = await connection.fetchrow(_CALL, *_values(payment))
    except asyncpg.PostgresError:
        return Once("fallback")
    except (OSError, asyncpg.InterfaceError, TimeoutError) as exc:
        raise OutcomeUnknown(repr(exc)) from exc
    outcome: Outcome = row["o_outcome"]
    return Once(
        outcome,
        row["o_payment_id"],
        row["o_amount_minor"],
        tuple(row["o_restored_ids"] or ()),
    )
