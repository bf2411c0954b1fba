"""How the ladder tells a debtor: one seam, so the debt-notice function can take over.

:class:`OutboxNotifier` (the default) queues one outbox message of topic ``dunning.notice`` per
(account, step, run date), with the dedupe key ``dunning.notice:<account>:<step>:<run date>``,
in the run's own unit of work. The worker's ``dunning.notice`` handler
(``worker/notices_job.py``) turns each into the debt notice with its verification code through
the contact gate (230-FZ caps, quiet hours, blocks): the run itself stays one set-based pass,
and no debt contact bypasses the gate.

One message per account, not per open item: the SMS states the account's whole debt, so a
notice per item sent the same text once per overdue charge (18 charges, 18 SMS in one night,
16 of them deferred by the daily cap into the following weeks and using up the month's 16).
The run date is in the key so that an item reaching the same step on a later night (a new
charge, a dispute closed) gets a notice of its own then; a rerun on the same date finds the
key taken and queues nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.outbox import service as outbox

TOPIC = "dunning.notice"


def dedupe_key(account_id: int, step: str, run_date: dt.date) -> str:
    return f"{TOPIC}:{account_id}:{step}:{run_date.isoformat()}"


@dataclass(frozen=True, slots=True)
class DebtNotice:
    """A notice the ladder decided on: one account, one step, the items it is due for."""

    account_id: int
    step: str
    action: str
    """'remind', 'notice_1' or 'notice_2'."""
    open_item_ids: tuple[int, ...]
    """The account's open items for which this step is due in this run, in id order."""
    service_ids: tuple[int, ...]
    """The services those items accrued on, each once, in id order (an account-level charge
    has none)."""
    amount_minor: int
    """Kopecks still owed on those items when the run decided. The SMS itself says what the
    account owes when it goes (the gate may defer it): that includes these items."""
    due_date: dt.date
    """The earliest due date of those items."""
    run_date: dt.date

    @property
    def dedupe_key(self) -> str:
        return dedupe_key(self.account_id, self.step, self.run_date)


class Notifier(Protocol):
    async def send(self, session: AsyncSession, notices: Sequence[DebtNotice]) -> None:
        """Queue the notices in the caller's unit of work; the caller commits."""


class OutboxNotifier:
    async def send(self, session: AsyncSession, notices: Sequence[DebtNotice]) -> None:
        # A key can be taken already: an item of the account held back (a dispute, a late
        # import) reached the step after the account's notice of the same date was queued.
        # Its progress row is written; the notice queued for that date covers it.
        taken = await outbox.taken_dedupe_keys(session, [n.dedupe_key for n in notices])
        await outbox.enqueue_many(
            session,
            [
                outbox.Queued(
                    topic=TOPIC,
                    payload={
                        "step": n.step,
                        "action": n.action,
                        "open_item_ids": list(n.open_item_ids),
                        "service_ids": list(n.service_ids),
                        "amount_minor": n.amount_minor,
                        "due_date": n.due_date.isoformat(),
                        "run_date": n.run_date.isoformat(),
                    },
                    account_id=n.account_id,
                    dedupe_key=n.dedupe_key,
                )
                for n in notices
                if n.dedupe_key not in taken
            ],
        )


DEFAULT_NOTIFIER: Notifier = OutboxNotifier()
