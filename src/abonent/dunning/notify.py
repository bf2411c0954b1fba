"""How the ladder tells a debtor: one seam, so the debt-notice function can take over.

:class:`OutboxNotifier` (the default) queues one outbox message of topic ``dunning.notice`` per
(item, step), with the dedupe key ``dunning.notice:<open item>:<step>``, in the run's own unit
of work. The worker's ``dunning.notice`` handler (``worker/notices_job.py``) turns each into the
debt notice with its verification code through the contact gate (230-FZ caps, quiet hours,
blocks): the run itself stays one set-based pass, and no debt contact bypasses the gate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.outbox import service as outbox

TOPIC = "dunning.notice"


@dataclass(frozen=True, slots=True)
class DebtNotice:
    """A notice the ladder decided on: what is owed on one open item, and which step."""

    account_id: int
    open_item_id: int
    service_id: int | None
    step: str
    action: str
    """'remind', 'notice_1' or 'notice_2'."""
    amount_minor: int
    """Kopecks still owed on the item when the run decided."""
    due_date: dt.date
    run_date: dt.date

    @property
    def dedupe_key(self) -> str:
        return f"{TOPIC}:{self.open_item_id}:{self.step}"


class Notifier(Protocol):
    async def send(self, session: AsyncSession, notices: Sequence[DebtNotice]) -> None:
        """Queue the notices in the caller's unit of work; the caller commits."""


class OutboxNotifier:
    async def send(self, session: AsyncSession, notices: Sequence[DebtNotice]) -> None:
        await outbox.enqueue_many(
            session,
            [
                outbox.Queued(
                    topic=TOPIC,
                    payload={
                        "open_item_id": n.open_item_id,
                        "service_id": n.service_id,
                        "step": n.step,
                        "action": n.action,
                        "amount_minor": n.amount_minor,
                        "due_date": n.due_date.isoformat(),
                        "run_date": n.run_date.isoformat(),
                    },
                    account_id=n.account_id,
                    dedupe_key=n.dedupe_key,
                )
                for n in notices
            ],
        )


DEFAULT_NOTIFIER: Notifier = OutboxNotifier()
