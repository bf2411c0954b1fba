"""Debt notices through the contact gate, their verification, and suspicious-SMS reports.

The dunning ladder calls :func:`send_debt_notice` (session, account, step, now): one notice per
account and step, whatever the number of calls; the gate sends it now or defers it, and
:func:`release_due` (the worker's job, ``abonent notices release``) sends the deferred ones when
they may go. The check code is made when the notice goes and is kept only as a keyed hash of
``code:last 4 digits of the account``; :func:`verify` answers from what the SMS itself said.
Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.config import Settings, get_settings
from abonent.contact import service as contact
from abonent.contact.errors import NoPhone
from abonent.contact.service import ContactRequest, Outcome, Renderer
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.inputs import text_fault
from abonent.kit.money import format_money
from abonent.models import Account, ContactMessage, DebtNotice, SuspiciousSmsReport
from abonent.notices import repository as repo
from abonent.notices import templates
from abonent.notices.errors import NothingOwed, ReportInvalid, VerifyInputInvalid
from abonent.notices.text import handover_text, render
from abonent.throttle import service as throttle

log = structlog.get_logger(__name__)

KIND: Final = "debt_notice"
HOUR: Final = dt.timedelta(hours=1)
SERVICE_NAMES: Final = {"mobile": "мобильная связь", "internet": "интернет", "tv": "ТВ"}
REPORT_CHANNELS: Final = ("api", "cabinet", "hotline")
READ_ROLES: Final = frozenset({"hotline", "clerk", "supervisor", "collections", "admin"})
_DIGITS = re.compile(r"[0-9]{1,12}")
_LAST4 = re.compile(r"[0-9]{4}")


def _today(settings: Settings, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(settings.timezone)).date()


@dataclass(frozen=True, slots=True)
class Debt:
    amount_minor: int
    due_date: dt.date
    services: list[str]


async def current_debt(
    session: AsyncSession, account_id: int, today: dt.date, settings: Settings
) -> Debt | None:
    """What a notice says now: the undisputed debt, the pay-by date (the earliest item's due
    date while it is ahead, else today + ``pay_within_days``) and the services it is for."""
    items = await repo.open_debits(session, account_id)
    amount = sum(m for _, _, m in items)
    if amount <= 0:
        return None
    earliest = min(d for d, _, _ in items)
    due = (
        earliest
        if earliest > today
        else today + dt.timedelta(days=settings.notices.pay_within_days)
    )
    kinds = sorted({k or "account" for _, k, _ in items})
    names = [SERVICE_NAMES.get(k, "лицевой счёт") for k in kinds]
    return Debt(amount, due, list(dict.fromkeys(names)))


def notice_key(account_id: int, step: str) -> str:
    return f"{KIND}:{account_id}:{step}"[:128]


@dataclass(frozen=True, slots=True)
class NoticeSent:
    notice: DebtNotice
    outcome: Outcome


async def send_debt_notice(
    session: AsyncSession,
    account: Account,
    step: str,
    now: dt.datetime,
    *,
    settings: Settings | None = None,
) -> NoticeSent:
    """The debt notice of ``account`` for dunning ``step`` through the gate: sent now, deferred
    to the next allowed moment, or held by a block. Idempotent per (account, step)."""
    settings = settings or get_settings()
    step = step.strip()[:64]
    if not step:
        raise VerifyInputInvalid("a notice needs a step name", code="notice_step")
    existing = await contact.message_by_key(session, notice_key(account.id, step))
    if existing is None:
        debt = await current_debt(session, account.id, _today(settings, now), settings)
        if debt is None:
            raise NothingOwed(f"account {account.number} owes nothing: no notice")
    customer = await contact.get_customer(session, account.customer_id)
    to = await contact.phone_of(session, customer, account.id)
    if to is None:
        raise NoPhone(f"account {account.number} has no phone to send a notice to")

    async def on_new(s: AsyncSession, message: ContactMessage) -> None:
        assert debt is not None
        s.add(
            DebtNotice(
                contact_message_id=message.id,
                account_id=account.id,
                step=step,
                amount_minor=debt.amount_minor,
                due_date=debt.due_date,
                services=", ".join(debt.services)[:255],
                created_at=now,
            )
        )
        await s.flush()

    outcome = await contact.submit(
        session,
        ContactRequest(
            key=notice_key(account.id, step),
            customer_id=customer.id,
            account_id=account.id,
            kind=KIND,
            to=to,
        ),
        now,
        settings=settings,
        renderers=renderers(settings),
        on_new=on_new,
    )
    notice = await repo.notice_by_message(session, outcome.message.id)
    assert notice is not None
    _sync(notice, outcome.message)
    return NoticeSent(notice, outcome)


def _sync(notice: DebtNotice, message: ContactMessage) -> None:
    if message.outbox_message_id is not None:
        notice.outbox_message_id = message.outbox_message_id


def code_hash(settings: Settings, code: str, last4: str) -> str:
    key = settings.secret("pii_hash_key")
    return hmac.new(key, f"debt-notice:{code}:{last4}".encode(), hashlib.sha256).hexdigest()


def renderers(settings: Settings) -> dict[str, Renderer]:
    async def debt_notice(
        session: AsyncSession, message: ContactMessage, now: dt.datetime
    ) -> str | None:
        notice = await repo.notice_by_message(session, message.id)
        account = await repo.account(session, message.account_id or 0)
        if notice is None or account is None:
            return None
        # A notice deferred for days says what is owed when it goes; paid meanwhile: none.
        debt = await current_debt(session, account.id, _today(settings, now), settings)
        if debt is None:
            return None
        # Read (and checked) before anything is written: a refused template raises
        # TemplateRefused and the gate holds the notice with nothing changed.
        template = await templates.in_use(session, settings)
        notice.amount_minor = debt.amount_minor
        notice.due_date = debt.due_date
        notice.services = ", ".join(debt.services)[:255]
        last4 = account.number[-4:]
        digits = settings.notices.code_digits
        for _ in range(20):
            code = f"{secrets.randbelow(10**digits):0{digits}d}"
            hashed = code_hash(settings, code, last4)
            if not await repo.hash_taken(session, hashed):
                break
        else:  # pragma: no cover - 20 collisions in a row
            raise RuntimeError("no free notice code")
        notice.code_hash = hashed
        notice.sent_at = now
        await session.flush()
        return render(
            template.template,
            account_number=account.number,
            amount_minor=debt.amount_minor,
            due_date=debt.due_date,
            services=debt.services,
            code=code,
            hotline=settings.hotline,
        )

    return {KIND: debt_notice}


async def release_due(
    session: AsyncSession, now: dt.datetime, *, settings: Settings | None = None, limit: int = 500
) -> list[Outcome]:
    """Run the deferred debt contacts that are due through the gate again (one batch)."""
    settings = settings or get_settings()
    outcomes = await contact.release_due(
        session, now, settings=settings, renderers=renderers(settings), limit=limit
    )
    for outcome in outcomes:
        if outcome.message.kind == KIND:
            notice = await repo.notice_by_message(session, outcome.message.id)
            if notice is not None:
                _sync(notice, outcome.message)
    return outcomes


HANDOVER_KIND: Final = "collections_handover"


async def send_handover_notice(
    session: AsyncSession,
    assignment_id: int,
    *,
    agency: str,
    agency_inn: str,
    now: dt.datetime,
    settings: Settings | None = None,
) -> Outcome | None:
    """The hand-over notice of an assignment through the gate (once per assignment). None: the
    assignment is gone or the debtor has no phone to send it to."""
    settings = settings or get_settings()
    found = await repo.assignment(session, assignment_id)
    if found is None:
        return None
    account = await repo.account(session, found.account_id)
    if account is None:
        return None
    customer = await contact.get_customer(session, account.customer_id)
    to = await contact.phone_of(session, customer, account.id)
    if to is None:
        return None
    text = handover_text(
        account_number=account.number,
        amount_minor=found.amount_minor,
        agency=agency,
        agency_inn=agency_inn,
        hotline=settings.hotline,
    )
    return await contact.submit(
        session,
        ContactRequest(
            key=handover_key(assignment_id),
            customer_id=customer.id,
            account_id=account.id,
            kind=HANDOVER_KIND,
            to=to,
            text=text,
        ),
        now,
        settings=settings,
    )


def handover_key(assignment_id: int) -> str:
    return f"collections.notice:{assignment_id}"


DELIVERED_SMS = frozenset({"delivered"})
UNDELIVERED_SMS = frozenset({"undeliverable", "expired", "failed"})


async def handover_deliveries(session: AsyncSession, assignment_ids: list[int]) -> dict[int, str]:
    """What became of each assignment's hand-over notice once its SMS has an outcome:
    'delivered' (the SMSC's receipt) or 'failed' (undeliverable, expired, given up); an SMS still
    on its way is left out, so the assignment stays 'sent'."""
    keys = {handover_key(a): a for a in assignment_ids}
    found = await repo.sms_status_by_contact_key(session, list(keys))
    out: dict[int, str] = {}
    for key, status in found.items():
        if status in DELIVERED_SMS:
            out[keys[key]] = "delivered"
        elif status in UNDELIVERED_SMS:
            out[keys[key]] = "failed"
    return out


def assignment_of(message: ContactMessage) -> int | None:
    """The assignment a hand-over notice is about (from its key)."""
    if message.kind != HANDOVER_KIND:
        return None
    tail = message.key.rpartition(":")[2]
    return int(tail) if tail.isdecimal() else None


# --- checking a notice --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    genuine: bool
    message: str
    sent_on: dt.date | None = None
    amount_minor: int | None = None
    due_date: dt.date | None = None


def forged_answer(settings: Settings) -> str:
    return (
        "Мы не отправляли это сообщение. Не платите по ссылкам и на карты из него; "
        f"позвоните {settings.hotline}."
    )


async def verify(
    session: AsyncSession,
    code: str,
    account_last4: str,
    *,
    client_key: str,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> Verification:
    """Genuine (sent on, amount, pay-by date: what the SMS said) or not ours. Every check counts
    against ``client_key``'s hourly limit; a refused one (429) counts nothing."""
    settings = settings or get_settings()
    now = now or clock.now()
    code = (code or "").strip()
    last4 = (account_last4 or "").strip()
    if not _DIGITS.fullmatch(code):
        raise VerifyInputInvalid("the code is 1 to 12 digits", field="code")
    if not _LAST4.fullmatch(last4):
        raise VerifyInputInvalid("the account's last 4 digits", field="account_last4")
    await throttle.hit(
        session, f"notice-verify:{client_key}", settings.notices.verify_per_client_per_hour, HOUR
    )
    notice = await repo.notice_by_hash(session, code_hash(settings, code, last4))
    if notice is None or notice.sent_at is None:
        log.info("notice.verify", genuine=False)
        return Verification(False, forged_answer(settings))
    sent_on = _today(settings, notice.sent_at)
    log.info("notice.verify", genuine=True, notice_id=notice.id)
    return Verification(
        True,
        f"Уведомление настоящее: отправлено {sent_on:%d.%m.%Y}, сумма "
        f"{format_money(notice.amount_minor)}, оплатить до {notice.due_date:%d.%m.%Y}.",
        sent_on=sent_on,
        amount_minor=notice.amount_minor,
        due_date=notice.due_date,
    )


# --- suspicious SMS -----------------------------------------------------------------------------


async def report(
    session: AsyncSession,
    *,
    sender: str,
    text: str,
    channel: str,
    client_key: str,
    settings: Settings | None = None,
) -> SuspiciousSmsReport:
    settings = settings or get_settings()
    if channel not in REPORT_CHANNELS:
        raise ReportInvalid(f"channel is one of {', '.join(REPORT_CHANNELS)}", field="channel")
    for name, value in (("sender", sender or ""), ("text", text or "")):
        fault = text_fault(value, multiline=name == "text")
        if fault:
            raise ReportInvalid(f"the {name} must not contain {fault}", field=name)
    sender = (sender or "").strip()
    text = " ".join((text or "").split())
    if not sender or len(sender) > 32:
        raise ReportInvalid("the sender is 1 to 32 characters", field="sender")
    if not text or len(text) > 1000:
        raise ReportInvalid("the text is 1 to 1000 characters", field="text")
    await throttle.hit(
        session, f"notice-report:{client_key}", settings.notices.reports_per_client_per_hour, HOUR
    )
    row = SuspiciousSmsReport(sender=sender, text=text, channel=channel, reported_at=clock.now())
    repo.add_report(session, row)
    await session.flush()
    return row


@dataclass(frozen=True, slots=True)
class ReportSummary:
    total: int
    by_sender: list[tuple[str, int]]
    by_text: list[tuple[str, int]]
    recent: list[SuspiciousSmsReport]


async def reports_summary(session: AsyncSession, *, actor: Actor, limit: int = 50) -> ReportSummary:
    if actor.role not in READ_ROLES:
        raise ReportInvalid(f"the role {actor.role!r} may not read reports", code="notice_role")
    return ReportSummary(
        await repo.report_total(session),
        await repo.report_counts_by_sender(session, limit),
        await repo.report_counts_by_text(session, limit),
        await repo.recent_reports(session, limit),
    )


async def notices_of(session: AsyncSession, account_id: int) -> list[DebtNotice]:
    return await repo.notices_of(session, account_id)
