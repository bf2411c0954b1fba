"""Written requests: filing with a due date by type, the queue, assignment, the answer with a
statement of the person's debt attached (PDF), and an SMS that it is ready. Never commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit import service as audit
from abonent.config import get_settings
from abonent.disputes import cases
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import Conflict, InvalidInput, NotFound
from abonent.models import Account, Customer, WrittenRequest
from abonent.requests import repository as repo
from abonent.sms import templates
from abonent.statement import debt_pdf

MAX_TEXT = 4000


class RequestInvalid(InvalidInput):
    default_code = "request_invalid"


class RequestNotFound(NotFound):
    default_code = "request_not_found"


class RequestAnswered(Conflict):
    default_code = "request_already_answered"


async def file_request(
    session: AsyncSession, account: Account, *, kind: str, text: str, channel: str, actor: Actor
) -> WrittenRequest:
    types = get_settings().requests.types
    if kind not in types:
        raise RequestInvalid("Неизвестный тип заявки: " + ", ".join(sorted(types)) + ".")
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise RequestInvalid(f"Текст заявки обязателен, не длиннее {MAX_TEXT} знаков.")
    if channel not in ("desk", "cabinet"):
        raise RequestInvalid("Неизвестный канал подачи заявки.")
    today = clock.today()
    request = WrittenRequest(
        account_id=account.id,
        kind=kind,
        text=text,
        status="open",
        channel=channel,
        filed_by=actor.name[:128],
        received_on=today,
        due_on=today + dt.timedelta(days=types[kind]),
        created_at=clock.now(),
    )
    session.add(request)
    await session.flush()
    audit.record(
        session,
        actor,
        "request.filed",
        object_type="request",
        object_id=request.id,
        account_id=account.id,
        kind=kind,
    )
    return request


async def get_request(session: AsyncSession, request_id: int) -> WrittenRequest:
    request = await repo.get(session, request_id)
    if request is None:
        raise RequestNotFound(f"Заявка №{request_id} не найдена.")
    return request


async def assign(
    session: AsyncSession, request_id: int, assignee: str, *, actor: Actor
) -> WrittenRequest:
    request = await get_request(session, request_id)
    if request.status != "open":
        raise RequestAnswered(f"На заявку №{request_id} уже дан ответ.")
    assignee = cases.clean_assignee(assignee, error=RequestInvalid)
    request.assignee = assignee
    audit.record(
        session,
        actor,
        "request.assigned",
        object_type="request",
        object_id=request.id,
        account_id=request.account_id,
        assignee=assignee,
    )
    await session.flush()
    return request


async def debt_statement_pdf(session: AsyncSession, account: Account) -> bytes:
    """The holder's statement of debt (every account, by service and by charge), as of today:
    the same document the desk prints (``statement.debt_pdf``)."""
    customer = await session.get(Customer, account.customer_id)
    assert customer is not None
    return await debt_pdf.build(session, customer, name=customer.full_name)


async def answer(
    session: AsyncSession,
    request_id: int,
    *,
    text: str,
    attach_statement: bool,
    actor: Actor,
) -> WrittenRequest:
    request = await get_request(session, request_id)
    if request.status != "open":
        raise RequestAnswered(f"На заявку №{request_id} уже дан ответ.")
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise RequestInvalid("Текст ответа обязателен.")
    account = await session.get(Account, request.account_id)
    assert account is not None
    request.answer_pdf = await debt_statement_pdf(session, account) if attach_statement else None
    request.answer_text = text
    request.status = "answered"
    request.answered_by = actor.name[:128]
    request.answered_at = clock.now()
    audit.record(
        session,
        actor,
        "request.answered",
        object_type="request",
        object_id=request.id,
        account_id=account.id,
        statement=attach_statement,
    )
    sms = templates.request_answered(account_number=account.number, request_id=request.id)
    await cases.notify_answer(
        session, account, sms, kind="request_answered", case="request", case_id=request.id
    )
    await session.flush()
    return request


async def queue(
    session: AsyncSession,
    *,
    status: str | None = None,
    kind: str | None = None,
    assignee: str | None = None,
    overdue: bool = False,
) -> list[WrittenRequest]:
    return await repo.queue(
        session,
        status=status,
        kind=kind,
        assignee=assignee,
        overdue_on=clock.today() if overdue else None,
    )


async def nearing_deadline(
    session: AsyncSession, *, today: dt.date | None = None
) -> list[WrittenRequest]:
    """Open requests due within the disputes' ``nearing_days`` (or overdue), soonest first."""
    day = today or clock.today()
    return await repo.queue(
        session,
        status="open",
        due_by=day + dt.timedelta(days=get_settings().disputes.nearing_days),
    )


async def of_accounts(session: AsyncSession, account_ids: list[int]) -> list[WrittenRequest]:
    return await repo.of_accounts(session, account_ids)
