"""What a written request looks like to a surface."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from abonent.models import WrittenRequest


class RequestOut(BaseModel):
    id: int
    account_id: int
    kind: str
    text: str
    status: str
    channel: str
    received_on: dt.date
    due_on: dt.date
    assignee: str | None
    answer_text: str | None
    has_statement: bool


def request_out(r: WrittenRequest) -> RequestOut:
    return RequestOut(
        id=r.id,
        account_id=r.account_id,
        kind=r.kind,
        text=r.text,
        status=r.status,
        channel=r.channel,
        received_on=r.received_on,
        due_on=r.due_on,
        assignee=r.assignee,
        answer_text=r.answer_text,
        has_statement=r.answer_pdf is not None,
    )
