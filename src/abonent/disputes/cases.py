"""What a claim and a written request share: the assignee check and the SMS that the answer is
ready (sent through the outbox to the number notices go to). Never commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit.errors import InvalidInput
from abonent.models import Account
from abonent.outbox import service as outbox
from abonent.payments.service import notice_recipient
from abonent.sms.templates import SmsText

MAX_ASSIGNEE = 128


def clean_assignee(assignee: str, *, error: type[InvalidInput]) -> str:
    """The assignee's login, stripped; empty or too long is refused with ``error``."""
    cleaned = (assignee or "").strip()
    if not cleaned or len(cleaned) > MAX_ASSIGNEE:
        raise error("Укажите исполнителя.")
    return cleaned


async def notify_answer(
    session: AsyncSession, account: Account, sms: SmsText, *, kind: str, case: str, case_id: int
) -> bool:
    """Queue ``sms`` to the account's notice number, once per case (``sms:<case>:<id>``).
    False when the account has no number to tell."""
    to = await notice_recipient(session, account)
    if to is None:
        return False
    await outbox.enqueue(
        session,
        outbox.SMS_SEND,
        {
            "to": to,
            "text": sms.text,
            "kind": kind,
            "category": sms.category,
            f"{case}_id": case_id,
        },
        account_id=account.id,
        dedupe_key=f"sms:{case}:{case_id}",
    )
    return True
