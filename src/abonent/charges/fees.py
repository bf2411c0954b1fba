"""Monthly tariff fees: one charge per service per period, however often the run is repeated.

Rules (see ``docs/charges.md``):

- A service pays for a period when its tariff has a fee (> 0) and it was active at some moment of
  the period: activated before the period ends and not closed before it starts.
- Suspension does not stop the fee, whatever the reason: the line, number or card stays reserved
  for the subscriber. Closing the service (or the account) stops it.
- A service activated or closed inside the period pays for the days it existed (the closing day
  included): ``fee × days / days_in_month``, rounded half up to the kopeck, once, here.
- Due on ``settings.fee_due_day`` of the period's month (capped at its last day); a fee charged
  after that day (a service activated later) is due ``default_due_days`` after its charge date.
- The external id is ``fee:<service_id>:<period>``: a second run finds it and posts nothing, a
  later run of the same period picks up services activated since.
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.charges.errors import PeriodInvalid
from abonent.charges.parser import parse_period
from abonent.charges.schemas import BatchResult, FeeRunResult, NewCharge, ProgressFn
from abonent.charges.writer import write_batch
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import InvalidInput
from abonent.ledger.chart import FEE, revenue_ledger
from abonent.models import Service, Tariff

DEFAULT_BATCH_SIZE = 20_000


def fee_external_id(service_id: int, period: str) -> str:
    return f"fee:{service_id}:{period}"


def prorate(monthly_fee_minor: int, days: int, days_in_month: int) -> int:
    """The fee for ``days`` of a month, rounded half up to the kopeck."""
    if days >= days_in_month:
        return monthly_fee_minor
    return (2 * monthly_fee_minor * days + days_in_month) // (2 * days_in_month)


class _Period:
    def __init__(self, text: str, timezone: str) -> None:
        year, month = parse_period(text)
        self.text = f"{year:04d}-{month:02d}"
        self.tz = ZoneInfo(timezone)
        self.days = calendar.monthrange(year, month)[1]
        self.first = dt.date(year, month, 1)
        self.last = dt.date(year, month, self.days)
        following = self.last + dt.timedelta(days=1)
        self.starts_at = dt.datetime.combine(self.first, dt.time(), self.tz).astimezone(dt.UTC)
        self.ends_at = dt.datetime.combine(following, dt.time(), self.tz).astimezone(dt.UTC)

    def local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.tz).date()


def _eligible(period: _Period) -> tuple[ColumnElement[bool], ...]:
    return (
        Tariff.monthly_fee_minor > 0,
        Service.activated_at < period.ends_at,
        or_(Service.closed_at.is_(None), Service.closed_at > period.starts_at),
    )


async def run_fees(
    db: Database,
    period_text: str,
    *,
    actor: Actor,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFn | None = None,
) -> FeeRunResult:
    """Post the fees of ``period_text`` ('YYYY-MM'); one unit of work per batch of services."""
    settings = get_settings()
    period = _Period(period_text, settings.timezone)
    today = clock.today(settings.timezone)
    if period.first > today:
        raise PeriodInvalid(
            f"period {period.text} has not begun (today is {today})", code="period_not_begun"
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInput(
            "batch size must be a positive number of services", code="batch_size_invalid"
        )
    nominal_due = dt.date(
        period.first.year, period.first.month, min(max(settings.fee_due_day, 1), period.days)
    )
    result = FeeRunResult(period=period.text)
    async with db.session() as session:
        result.services = (
            await session.scalar(
                select(func.count())
                .select_from(Service)
                .join(Tariff, Tariff.id == Service.tariff_id)
                .where(*_eligible(period))
            )
        ) or 0
    if progress is not None:
        progress("fees", 0, result.services)

    after_id, done = 0, 0
    while True:

        async def work(
            session: AsyncSession, after: int = after_id
        ) -> tuple[BatchResult, int, int]:
            charges, last_id = await _page(session, period, after, batch_size, nominal_due)
            batch = await write_batch(
                session,
                [c for c, _ in charges],
                entry_kind=FEE,
                source=f"fee:{period.text}",
                memo=f"Абонентская плата за {period.text}",
                actor=actor,
                audit_action="fees.run",
                audit_object=period.text,
                check_conflicts=False,
            )
            return batch, sum(1 for _, partial in charges if partial), last_id

        batch, partial, last_id = await db.run(work)
        if last_id == after_id:
            break
        result.posted += batch.imported
        result.already_there += batch.already_there
        result.total_minor += batch.total_minor
        result.allocated_minor += batch.allocated_minor
        result.partial += partial
        result.batches += 1
        done += batch.imported + batch.already_there
        after_id = last_id
        if progress is not None:
            progress("fees", done, result.services)
    return result


async def _page(
    session: AsyncSession, period: _Period, after_id: int, limit: int, nominal_due: dt.date
) -> tuple[list[tuple[NewCharge, bool]], int]:
    """The next services after ``after_id`` with their fees (and whether each is for part of
    the month), and the last service id looked at (``after_id`` when there are no more)."""
    rows = await session.execute(
        select(
            Service.id,
            Service.account_id,
            Service.kind,
            Service.activated_at,
            Service.closed_at,
            Tariff.monthly_fee_minor,
            Tariff.name,
        )
        .join(Tariff, Tariff.id == Service.tariff_id)
        .where(Service.id > after_id, *_eligible(period))
        .order_by(Service.id)
        .limit(limit)
    )
    default_due = dt.timedelta(days=get_settings().default_due_days)
    out: list[tuple[NewCharge, bool]] = []
    last_id = after_id
    for service_id, account_id, kind, activated_at, closed_at, monthly, tariff in rows:
        last_id = service_id
        first = max(period.first, period.local_date(activated_at))
        last = period.last if closed_at is None else min(period.last, period.local_date(closed_at))
        days = (last - first).days + 1
        amount = prorate(monthly, days, period.days)
        if amount <= 0:
            continue
        partial = days < period.days
        description = f"Абонентская плата «{tariff}» за {period.text}"
        if partial:
            description += f" ({days} из {period.days} дн.)"
        out.append(
            (
                NewCharge(
                    fee_external_id(service_id, period.text),
                    account_id,
                    service_id,
                    amount,
                    FEE,
                    revenue_ledger(kind),
                    period.text,
                    first,
                    nominal_due if first <= nominal_due else first + default_due,
                    description[:255],
                ),
                partial,
            )
        )
    return out, last_id
