"""Written requests: due date by type, queue filters, answer with the debt statement, SMS."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.models import Account, OutboxMessage, WrittenRequest
from abonent.requests import service as requests
from tests.disputes.helpers import account_with_charges

CLERK = Actor("staff:1:clerk", "clerk")
D = dt.date


async def _file(db: Database, account: Account, kind: str) -> int:
    async with db.session(write=True) as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        return (
            await requests.file_request(
                s, fresh, kind=kind, text="Прошу расшифровку долга", channel="desk", actor=CLERK
            )
        ).id


async def test_request_lifecycle(db: Database, clock: FrozenClock) -> None:
    account, _old, _new = await account_with_charges(db, clock)
    debt_id = await _file(db, account, "debt_details")
    docs_id = await _file(db, account, "documents")
    async with db.session() as s:
        a = await s.get(WrittenRequest, debt_id)
        b = await s.get(WrittenRequest, docs_id)
        assert a is not None and b is not None
        assert (a.due_on, b.due_on) == (D(2026, 11, 28), D(2026, 12, 18))
    async with db.session(write=True) as s:
        await requests.assign(s, debt_id, "clerk", actor=CLERK)
    async with db.session() as s:
        assert [r.id for r in await requests.queue(s, assignee="clerk")] == [debt_id]
        assert [r.id for r in await requests.queue(s, kind="documents")] == [docs_id]
        assert [r.id for r in await requests.queue(s, overdue=True)] == []
    clock.at = dt.datetime(2026, 11, 29, 9, tzinfo=dt.UTC)
    async with db.session() as s:
        assert [r.id for r in await requests.queue(s, overdue=True)] == [debt_id]
    async with db.session(write=True) as s:
        await requests.answer(
            s, debt_id, text="Расшифровка во вложении", attach_statement=True, actor=CLERK
        )
    async with db.session() as s:
        done = await s.get(WrittenRequest, debt_id)
        assert done is not None and done.status == "answered" and done.answer_pdf
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(done.answer_pdf)).pages)
        assert f"Лицевой счёт {account.number}" in text
        assert "Задолженность: 800,00" in text and "Итого задолженность: 800,00" in text
        assert "просрочено: 800,00" in text
        [sms] = list(await s.scalars(select(OutboxMessage)))
        assert sms.payload["text"] == (
            f"Ответ на вашу заявку №{debt_id} по лицевому счёту ****{account.number[-4:]} "
            "готов: он в личном кабинете (раздел «Мои обращения») и в офисе."
        )
        assert [r.id for r in await requests.queue(s, status="open")] == [docs_id]
    async with db.session(write=True) as s:
        with pytest.raises(requests.RequestAnswered):
            await requests.answer(s, debt_id, text="ещё", attach_statement=False, actor=CLERK)


async def test_bad_requests_change_nothing(db: Database, clock: FrozenClock) -> None:
    account, _old, _new = await account_with_charges(db, clock)
    for kind, text in (("unknown", "текст"), ("debt_details", "  ")):
        async with db.session(write=True) as s:
            fresh = await s.get(Account, account.id)
            assert fresh is not None
            with pytest.raises(requests.RequestInvalid):
                await requests.file_request(
                    s, fresh, kind=kind, text=text, channel="desk", actor=CLERK
                )
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(WrittenRequest)) == 0
