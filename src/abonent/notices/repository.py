"""Every query of debt notices, their checks and the suspicious-SMS reports."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.ledger.chart import DEBIT
from abonent.models import (
    Account,
    CollectionAssignment,
    ContactMessage,
    DebtNotice,
    NoticeTemplateVersion,
    OpenItem,
    Service,
    SmsMessage,
    SuspiciousSmsReport,
)
from abonent.models.ledger import still_open


async def open_debits(
    session: AsyncSession, account_id: int
) -> list[tuple[dt.date, str | None, int]]:
    """(due date, service kind or None, remaining kopecks) of the account's undisputed debt."""
    rows = await session.execute(
        select(OpenItem.due_date, Service.kind, OpenItem.remaining_minor)
        .outerjoin(Service, Service.id == OpenItem.service_id)
        .where(
            OpenItem.account_id == account_id,
            OpenItem.side == DEBIT,
            still_open(),
            OpenItem.disputed.is_(False),
        )
        .order_by(OpenItem.due_date, OpenItem.id)
    )
    return [(d, k, int(m)) for d, k, m in rows.all()]


async def sms_status_by_contact_key(session: AsyncSession, keys: list[str]) -> dict[str, str]:
    """The status of the SMS each contact (by key) went out as; contacts not sent are absent."""
    if not keys:
        return {}
    rows = await session.execute(
        select(ContactMessage.key, SmsMessage.status)
        .join(SmsMessage, SmsMessage.outbox_message_id == ContactMessage.outbox_message_id)
        .where(ContactMessage.key.in_(keys))
    )
    return {key: status for key, status in rows.all()}


async def notice_by_message(session: AsyncSession, message_id: int) -> DebtNotice | None:
    return await session.scalar(
        select(DebtNotice).where(DebtNotice.contact_message_id == message_id)
    )


async def notice_by_hash(session: AsyncSession, code_hash: str) -> DebtNotice | None:
    return await session.scalar(select(DebtNotice).where(DebtNotice.code_hash == code_hash))


async def hash_taken(session: AsyncSession, code_hash: str) -> bool:
    return (
        await session.scalar(select(DebtNotice.id).where(DebtNotice.code_hash == code_hash))
    ) is not None


async def account(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def notices_of(session: AsyncSession, account_id: int) -> list[DebtNotice]:
    return list(
        await session.scalars(
            select(DebtNotice).where(DebtNotice.account_id == account_id).order_by(DebtNotice.id)
        )
    )


def add_report(session: AsyncSession, report: SuspiciousSmsReport) -> None:
    session.add(report)


async def report_counts_by_sender(session: AsyncSession, limit: int) -> list[tuple[str, int]]:
    n = func.count().label("n")
    rows = await session.execute(
        select(SuspiciousSmsReport.sender, n)
        .group_by(SuspiciousSmsReport.sender)
        .order_by(n.desc(), SuspiciousSmsReport.sender)
        .limit(limit)
    )
    return [(s, int(c)) for s, c in rows.all()]


async def report_counts_by_text(session: AsyncSession, limit: int) -> list[tuple[str, int]]:
    n = func.count().label("n")
    rows = await session.execute(
        select(SuspiciousSmsReport.text, n)
        .group_by(SuspiciousSmsReport.text)
        .order_by(n.desc(), SuspiciousSmsReport.text)
        .limit(limit)
    )
    return [(t, int(c)) for t, c in rows.all()]


async def recent_reports(session: AsyncSession, limit: int) -> list[SuspiciousSmsReport]:
    return list(
        await session.scalars(
            select(SuspiciousSmsReport).order_by(SuspiciousSmsReport.id.desc()).limit(limit)
        )
    )


async def report_total(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(SuspiciousSmsReport)) or 0)


async def assignment(session: AsyncSession, assignment_id: int) -> CollectionAssignment | None:
    return await session.get(CollectionAssignment, assignment_id)


# --- templates --------------------------------------------------------------------------------


async def latest_template(session: AsyncSession, kind: str) -> NoticeTemplateVersion | None:
    return await session.scalar(
        select(NoticeTemplateVersion)
        .where(NoticeTemplateVersion.kind == kind)
        .order_by(NoticeTemplateVersion.version.desc())
        .limit(1)
    )


async def template_versions(session: AsyncSession, kind: str) -> list[NoticeTemplateVersion]:
    rows = await session.scalars(
        select(NoticeTemplateVersion)
        .where(NoticeTemplateVersion.kind == kind)
        .order_by(NoticeTemplateVersion.version.desc())
    )
    return list(rows)


def add_template(session: AsyncSession, row: NoticeTemplateVersion) -> None:
    session.add(row)
