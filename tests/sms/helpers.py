from __future__ import annotations

from abonent.db.uow import Database
from abonent.outbox import service as outbox


async def queue_sms(db: Database, to: str = "+79161234567", text: str = "Привет") -> int:
    async def work(session):  # type: ignore[no-untyped-def]
        message = await outbox.enqueue(session, outbox.SMS_SEND, {"to": to, "text": text})
        assert message is not None
        await session.flush()
        return message.id

    return await db.run(work)
