"""A payment booked in one statement on PostgreSQL (the payment agents' hot path).

:func:`book_once` builds what :mod:`abonent.ledger.pg_agent_pay` needs from a request like
:class:`abonent.payments.service.PaymentRequest`, named by account number rather than a loaded
account (the statement finds the account itself), and every value the ORM path would compute
in Python: the fingerprint, the memo, the JSON of the audit row and of the outbox messages. The
rules stay :func:`abonent.payments.service.book_payment`'s: whatever the statement does not
book or replay (outcome ``fallback``), the caller books through ``book_payment``.

Measured with ``bench/probe_osmp_cpu.py`` (docs/osmp-pay-path.md): five round trips and a
session per payment became one statement on a bare driver connection.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from abonent.config import get_settings
from abonent.kit import clock, metrics
from abonent.kit.actor import Actor
from abonent.ledger import pg_agent_pay
from abonent.ledger.chart import clearing_ledger
from abonent.payments.memo import memo
from abonent.payments.service import (
    METHODS,
    RESTORE_REASON,
    _booked_payload,
    _sms_payload,
    fingerprint,
)

Once = pg_agent_pay.Once

_BOOKED_HEAD = '{"payment_id": '
_SMS_HEAD = '{"to": ""'


@dataclass(frozen=True, slots=True)
class OnceRequest:
    number: str
    """The account number, as validated (``accounts.service.parse_number``)."""
    amount_minor: int
    method: str
    source: str
    """Built by :mod:`abonent.payments.sources`."""
    source_txn_id: str
    actor: Actor
    currency: str = "RUB"
    """The payment's currency: the statement books only into an account held in it."""
    txn_date: dt.datetime | None = None
    comment: str | None = None
    agent_id: int | None = None
    agent_digest: str | None = None
    """With ``agent_id``: book only while the agent's row is the one this digest was taken of
    (``payments.agents.service.AgentCopy``)."""


class _Account:
    """What the payload builders read of an account."""

    __slots__ = ("number",)

    def __init__(self, number: str) -> None:
        self.number = number


def parameters(request: OnceRequest) -> pg_agent_pay.AgentPayment:
    """The statement's parameters: the values ``book_payment`` computes, the payloads by its
    own builders (the memo and the audit details are spelled again here; the equivalence test
    holds every one of them equal)."""
    account: Any = _Account(request.number)
    booked_head, booked_tail = pg_agent_pay.payload_parts(
        _booked_payload(0, account, request.amount_minor, request.currency, request.method),
        "payment_id",
    )
    sms_head, sms_tail = pg_agent_pay.payload_parts(
        _sms_payload("", 0, request.amount_minor, request.currency, request.number),
        "payment_id",
    )
    if booked_head != _BOOKED_HEAD or sms_tail != "}" or not sms_head.startswith(_SMS_HEAD):
        raise AssertionError("the payloads changed shape: abonent_agent_pay must follow them")
    comment = (request.comment or None) and request.comment[:255]
    # book_payment dates the entry clock.today() (the operator's zone) and judges "overdue"
    # by clock.today(settings.timezone): the same zone, so one date.
    today = clock.today(get_settings().timezone)
    return pg_agent_pay.AgentPayment(
        agent_id=request.agent_id,
        agent_digest=request.agent_digest,
        number=request.number,
        amount_minor=request.amount_minor,
        currency=request.currency,
        fingerprint=fingerprint(request.number, request.amount_minor, request.currency),
        method=request.method,
        source=request.source,
        txn_id=request.source_txn_id,
        actor=request.actor.name,
        role=request.actor.role,
        txn_date=request.txn_date,
        comment=comment,
        memo=memo(request.method, request.source, request.source_txn_id),
        entry_source=f"{request.source}:{request.source_txn_id}"[:128],
        counter_ledger=clearing_ledger(request.source),
        details=json.dumps(
            {
                "amount_minor": request.amount_minor,
                "source": request.source,
                "txn_id": request.source_txn_id,
            }
        ),
        booked_tail=booked_tail,
        sms_middle=sms_head[len(_SMS_HEAD) :],
        restore_reason=RESTORE_REASON,
        business_date=today,
        today=today,
        now=clock.now(),
    )


async def book_once(connection: Any, request: OnceRequest) -> Once:
    """Book ``request`` with one statement on ``connection`` (a driver connection with no
    transaction open: ``Database.statement_connection``), or say why not (outcome
    ``fallback``: book through ``book_payment``; ``agent``: the agent's row changed)."""
    if request.method not in METHODS or not 0 < len(request.source_txn_id) <= 128:
        return Once("fallback")  # book_payment's refusals
    once = await pg_agent_pay.pay(connection, parameters(request))
    if once.outcome == "booked":
        metrics.payment_committed(request.source)
    return once
