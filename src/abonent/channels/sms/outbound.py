"""An outbox SMS through a gateway, with its status kept in sms_messages.

What the relay's ``sms.send`` handler calls (the relay itself stays as it is; the lead wires it):
``relay_sms`` records the SMS as queued, submits it with the outbox message id as the gateway's
idempotency key, and records the parts' ids; a refusal by the SMSC marks it failed. A message
already recorded as sent is not submitted again, so a relay that retries after a crash between
the submit and the outbox commit sends nothing twice once the ``sent`` row is committed.
"""

from __future__ import annotations

import inspect

from abonent.channels.smpp.link import SubmitRefused
from abonent.channels.sms.gateway import SmsGateway
from abonent.channels.sms.smpp import ReceiptCallback, SmppSmsGateway
from abonent.db.uow import Database
from abonent.sms import repository
from abonent.sms import service as sms


class SmsRefused(Exception):
    """The SMSC refused the message for good: retrying will not help."""


async def relay_sms(
    db: Database,
    gateway: SmsGateway,
    *,
    outbox_message_id: int,
    sender: str,
    to: str,
    text: str,
    category: str = "service",
) -> tuple[str, ...]:
    """Send one outbox SMS; return its parts' gateway message ids."""
    async with db.session() as session:
        known = await repository.by_outbox_id(session, outbox_message_id)
        if known is not None and known.status != "queued":
            return tuple(p.gateway_message_id for p in await repository.parts_of(session, known.id))
    await db.run(
        lambda s: sms.record_queued(
            s, outbox_message_id=outbox_message_id, to=to, category=category
        )
    )
    key = str(outbox_message_id)
    try:
        if isinstance(gateway, SmppSmsGateway):
            ids = (await gateway.send_message(sender=sender, to=to, text=text, key=key)).message_ids
        elif "key" in inspect.signature(gateway.send).parameters:
            ids = (await gateway.send(sender=sender, to=to, text=text, key=key),)  # type: ignore[call-arg]
        else:
            ids = (await gateway.send(sender=sender, to=to, text=text),)
    except SubmitRefused as exc:
        reason = str(exc)
        await db.run(
            lambda s: sms.mark_failed(
                s, outbox_message_id=outbox_message_id, to=to, category=category, reason=reason
            )
        )
        raise SmsRefused(reason) from exc
    await db.run(
        lambda s: sms.record_sent(
            s,
            outbox_message_id=outbox_message_id,
            to=to,
            category=category,
            gateway_message_ids=ids,
        )
    )
    return ids


def receipt_recorder(db: Database) -> ReceiptCallback:
    """``on_receipt`` for SmppSmsGateway: apply each receipt in its own unit of work."""

    async def on_receipt(gateway_message_id: str, state: str) -> bool:
        outcome = await db.run(lambda s: sms.apply_receipt(s, gateway_message_id, state))
        # An id not recorded yet (the receipt outran record_sent): refuse it for now and the
        # SMSC offers it again.
        return outcome != "unknown"

    return on_receipt
