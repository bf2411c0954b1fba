"""The one gate every debt contact passes (DESIGN §9, 230-FZ as the FSSP reads it).

:func:`submit` takes a contact (debt notice, the collections hand-over notice, dunning notices)
under a unique key, so asking twice is a no-op; :func:`evaluate` reads the debtor's history in
the rolling windows, asks :mod:`abonent.contact.rules`, records the decision in the contact log,
and queues the SMS through the outbox (``dedupe_key`` ``contact:<id>``: never doubled) or leaves
the message pending until the next allowed moment (never dropped). :func:`release_due` runs the
pending ones that are due through the gate again; on PostgreSQL concurrent releases skip each
other's rows (``FOR UPDATE SKIP LOCKED``) and the debtor's row is locked for each decision.
Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.config import Settings
from abonent.contact import repository as repo
from abonent.contact.errors import (
    BlockInvalid,
    BlockLifted,
    BlockNotFound,
    ContactRoleRefused,
    CustomerNotFound,
    RenderHeld,
)
from abonent.contact.rules import ContactZone, GateRules, decide, resolve_zone
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.models import Account, ContactBlock, ContactLogEntry, ContactMessage, Customer
from abonent.models.notices import BLOCK_KINDS
from abonent.notices.links import ensure_no_link
from abonent.outbox import service as outbox

log = structlog.get_logger(__name__)

MONTH: Final = dt.timedelta(days=31)
ROLES: Final[dict[str, frozenset[str]]] = {
    "contact.block": frozenset({"collections", "supervisor", "admin", "clerk"}),
    "contact.read": frozenset({"clerk", "hotline", "collections", "supervisor", "admin"}),
}

Renderer = Callable[[AsyncSession, ContactMessage, dt.datetime], Awaitable[str | None]]
"""Builds a message's text at the moment it goes (a debt notice's code is made then); None:
there is nothing to say any more (the debt was paid meanwhile) and the message is cancelled.
It raises :class:`RenderHeld`, before writing anything, when it cannot say it now (its template
was refused): the message is deferred with the held reason and tried again later."""
OnNew = Callable[[AsyncSession, ContactMessage], Awaitable[None]]


def require(actor: Actor, action: str) -> None:
    if actor.role not in ROLES[action]:
        raise ContactRoleRefused(f"the role {actor.role!r} may not do {action}", action=action)


def gate_rules(settings: Settings) -> GateRules:
    n = settings.notices
    return GateRules(
        per_day=n.per_day,
        per_week=n.per_week,
        per_month=n.per_month,
        working_from=n.working_from,
        working_until=n.working_until,
        rest_from=n.rest_from,
        rest_until=n.rest_until,
    )


@dataclass(frozen=True, slots=True)
class ContactRequest:
    key: str
    """Unique per contact: 'debt_notice:<account>:<step>', 'collections.notice:<assignment>'."""
    customer_id: int
    account_id: int | None
    kind: str
    to: str
    text: str | None = None
    """A fixed text; None: the kind's renderer builds it when the message goes."""
    category: str = "debt"
    channel: str = "sms"


@dataclass(frozen=True, slots=True)
class Outcome:
    message: ContactMessage
    verdict: Literal["sent", "deferred", "blocked", "cancelled", "unchanged"]
    """'unchanged': asked again of a message already sent, or pending and not yet due;
    'cancelled': allowed, but its renderer had nothing left to say."""
    reason: str
    at: dt.datetime | None


async def submit(
    session: AsyncSession,
    request: ContactRequest,
    now: dt.datetime,
    *,
    settings: Settings,
    renderers: Mapping[str, Renderer] | None = None,
    on_new: OnNew | None = None,
) -> Outcome:
    """Ask the gate for one contact; a second ask of the same key changes nothing.

    ``on_new`` runs once the new message has its id, before the decision (a debt notice
    writes its row there, for the renderer to find)."""
    found = await repo.message_by_key(session, request.key)
    if found is not None:
        if found.status == "pending" and found.not_before <= now:
            return await evaluate(session, found, now, settings=settings, renderers=renderers)
        return Outcome(found, "unchanged", found.status, found.not_before)
    message = ContactMessage(
        key=request.key[:128],
        customer_id=request.customer_id,
        account_id=request.account_id,
        kind=request.kind,
        category=request.category,
        channel=request.channel,
        to_msisdn=request.to,
        text=request.text,
        status="pending",
        not_before=now,
        decisions=0,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    if on_new is not None:
        await on_new(session, message)
    return await evaluate(session, message, now, settings=settings, renderers=renderers)


async def evaluate(
    session: AsyncSession,
    message: ContactMessage,
    now: dt.datetime,
    *,
    settings: Settings,
    renderers: Mapping[str, Renderer] | None = None,
) -> Outcome:
    """Decide on one message now, record the decision, and send or hold it accordingly."""
    customer = await repo.lock_customer(session, message.customer_id)
    if customer is None:
        raise CustomerNotFound(f"no customer {message.customer_id}")
    block = await repo.active_block(session, customer.id, now)
    sent = await repo.sent_times(session, customer.id, message.category, now - MONTH)
    account = await repo.account(session, message.account_id) if message.account_id else None
    rules = gate_rules(settings)
    zone = resolve_zone(
        account.timezone if account is not None else None,
        customer.timezone,
        message.to_msisdn,
        settings.timezone,
        at=now,
        rules=rules,
    )
    decision = decide(rules, now, zone, sent, block.kind if block else None)
    message.decisions = (message.decisions or 0) + 1
    verdict: Literal["sent", "deferred", "blocked", "cancelled"]
    at: dt.datetime | None
    reason = decision.reason
    if decision.verdict == "blocked":
        verdict = "blocked"
        assert block is not None
        # A block with an end holds the message until then; an open one until it is lifted.
        at = block.until_at
        if at is not None:
            message.status, message.not_before = "pending", at
        else:
            message.status = "blocked"
    elif decision.verdict == "defer":
        verdict, at = "deferred", decision.at
        assert at is not None
        message.status, message.not_before = "pending", at
    else:
        verdict, at = "sent", now
        done = await _send(session, message, now, settings=settings, renderers=renderers or {})
        if done == "cancelled":
            verdict, at, reason = "cancelled", None, "nothing_to_say"
        elif isinstance(done, RenderHeld):
            # Nothing goes, and the message is not lost: it waits and is tried again.
            verdict, reason, at = "deferred", done.reason, now + done.retry_after
            message.status, message.not_before = "pending", at
            log.error(
                "contact.render_held",
                message_id=message.id,
                kind=message.kind,
                reason=done.reason,
                code=done.code,
                detail=done.detail,
            )
    session.add(
        ContactLogEntry(
            message_id=message.id,
            customer_id=customer.id,
            account_id=message.account_id,
            category=message.category,
            channel=message.channel,
            kind=message.kind,
            verdict=verdict,
            reason=reason,
            next_at=None if verdict == "sent" else at,
            zone=zone.label,
            zone_source=zone.source,
            at=now,
        )
    )
    await session.flush()
    log.info(
        "contact.decided",
        message_id=message.id,
        kind=message.kind,
        verdict=verdict,
        reason=reason,
        next_at=at.isoformat() if at is not None and verdict != "sent" else None,
        zone=zone.label,
        zone_source=zone.source,
    )
    return Outcome(message, verdict, reason, at)


async def _send(
    session: AsyncSession,
    message: ContactMessage,
    now: dt.datetime,
    *,
    settings: Settings,
    renderers: Mapping[str, Renderer],
) -> Literal["sent", "cancelled"] | RenderHeld:
    text: str | None
    if message.text is not None:
        text = message.text
    else:
        render = renderers.get(message.kind)
        if render is None:
            raise BlockInvalid(
                f"no text for a contact of kind {message.kind!r}", code="contact_kind"
            )
        try:
            text = await render(session, message, now)
        except RenderHeld as held:
            return held
    if text is None:
        message.status = "cancelled"
        return "cancelled"
    if message.category == "debt":
        ensure_no_link(text)
    queued = await outbox.enqueue(
        session,
        outbox.SMS_SEND,
        {
            "to": message.to_msisdn,
            "text": text,
            "category": message.category,
            "kind": message.kind,
            "sender": settings.notices.sender,
        },
        account_id=message.account_id,
        dedupe_key=f"contact:{message.id}",
    )
    await session.flush()
    message.status = "sent"
    message.sent_at = now
    if queued is not None:
        message.outbox_message_id = queued.id
    return "sent"


async def release_due(
    session: AsyncSession,
    now: dt.datetime,
    *,
    settings: Settings,
    renderers: Mapping[str, Renderer] | None = None,
    limit: int = 500,
) -> list[Outcome]:
    """Run the pending messages due by ``now`` through the gate again (a batch per unit)."""
    outcomes = []
    for message in await repo.due_messages(session, now, limit):
        outcomes.append(
            await evaluate(session, message, now, settings=settings, renderers=renderers)
        )
    return outcomes


# --- blocks ------------------------------------------------------------------------------------


async def set_block(
    session: AsyncSession,
    customer_id: int,
    *,
    kind: str,
    reason: str,
    actor: Actor,
    from_at: dt.datetime | None = None,
    until_at: dt.datetime | None = None,
) -> ContactBlock:
    require(actor, "contact.block")
    if kind not in BLOCK_KINDS:
        raise BlockInvalid(f"block kind is one of {', '.join(BLOCK_KINDS)}", field="kind")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise BlockInvalid("a block needs a reason of 1 to 500 characters", field="reason")
    now = clock.now()
    start = from_at or now
    if until_at is not None and until_at <= start:
        raise BlockInvalid("a block ends after it starts", field="until")
    if await repo.customer(session, customer_id) is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    block = ContactBlock(
        customer_id=customer_id,
        kind=kind,
        reason=reason,
        set_by=actor.name[:128],
        from_at=start,
        until_at=until_at,
        created_at=now,
    )
    session.add(block)
    await session.flush()
    record(
        session,
        actor,
        "contact.block",
        object_type="customer",
        object_id=customer_id,
        reason=reason,
        kind=kind,
        block_id=block.id,
    )
    return block


async def lift_block(session: AsyncSession, block_id: int, *, actor: Actor) -> ContactBlock:
    """Lift a block; the messages it held go back to the gate when nothing else holds them."""
    require(actor, "contact.block")
    block = await repo.block_for_update(session, block_id)
    if block is None:
        raise BlockNotFound(f"no contact block {block_id}")
    if block.lifted_at is not None:
        raise BlockLifted(f"block {block_id} was lifted already")
    now = clock.now()
    block.lifted_at = now
    block.lifted_by = actor.name[:128]
    await session.flush()
    if await repo.active_block(session, block.customer_id, now) is None:
        await repo.release_blocked(session, block.customer_id, now)
    record(
        session,
        actor,
        "contact.unblock",
        object_type="customer",
        object_id=block.customer_id,
        block_id=block.id,
    )
    return block


async def blocks_of(session: AsyncSession, customer_id: int, *, actor: Actor) -> list[ContactBlock]:
    require(actor, "contact.read")
    if await repo.customer(session, customer_id) is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    return await repo.blocks(session, customer_id)


async def contact_log(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int | None = None,
    account_id: int | None = None,
    verdict: str | None = None,
    limit: int = 200,
) -> list[ContactLogEntry]:
    require(actor, "contact.read")
    return await repo.log_entries(
        session, customer_id=customer_id, account_id=account_id, verdict=verdict, limit=limit
    )


async def decision_counts(
    session: AsyncSession, *, actor: Actor, since: dt.datetime
) -> list[tuple[str, str, int]]:
    """How the gate decided since ``since``: (verdict, reason, count), most first."""
    require(actor, "contact.read")
    return await repo.decision_counts(session, since)


async def message_by_key(session: AsyncSession, key: str) -> ContactMessage | None:
    return await repo.message_by_key(session, key)


async def messages_of(session: AsyncSession, customer_id: int) -> list[ContactMessage]:
    return await repo.messages_of(session, customer_id)


async def phone_of(session: AsyncSession, customer: Customer, account_id: int | None) -> str | None:
    """Where a debt SMS goes: the customer's contact phone, else the account's mobile number."""
    if customer.contact_phone:
        return customer.contact_phone
    if account_id is None:
        return None
    return await repo.mobile_of(session, account_id)


async def zone_for_account(
    session: AsyncSession, account: Account, now: dt.datetime, *, settings: Settings
) -> ContactZone:
    """The zone the gate takes the contact hours of ``account``'s notices in, now."""
    customer = await get_customer(session, account.customer_id)
    return resolve_zone(
        account.timezone,
        customer.timezone,
        await phone_of(session, customer, account.id),
        settings.timezone,
        at=now,
        rules=gate_rules(settings),
    )


async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    found = await repo.customer(session, customer_id)
    if found is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    return found
