"""The collections dashboards as data: each a series of (label, kopecks, count) with its title.

Each series is one aggregate query (collections/repository.py), so a dashboard costs the same on
ten thousand accounts as the numbers it shows; the page draws them (kit/charts.py) and lists the
numbers beside each chart, and each downloads as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts.service import service_kind_label
from abonent.collections import repository as repo
from abonent.collections.roles import require
from abonent.config import get_settings
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import NotFound
from abonent.kit.money import format_plain

AGE_BOUNDS = (30, 60, 90, 180, 365)
"""Days overdue that close each ageing bucket: 1–30, 31–60, 61–90, 91–180, 181–365, over 365."""
CHANNELS = {
    ("agent", "payment"): "Банки и терминалы",
    ("agent", "collection"): "Коллекторские агентства",
    ("registry", "payment"): "Реестры банков",
    ("registry", "collection"): "Коллекторские агентства",
    ("card", None): "Банковская карта",
    ("office", None): "Касса офиса",
    ("api", None): "Интеграции (API)",
    ("transfer", None): "Переводы",
}


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    amount_minor: int
    count: int
    extra_minor: int | None = None
    """Agencies: what was handed over (the amount is what is still owed)."""


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    title: str
    count_label: str
    rows: list[Row]

    @property
    def total_minor(self) -> int:
        return sum(r.amount_minor for r in self.rows)


class DashboardNotFound(NotFound):
    default_code = "dashboard_not_found"


def _age_labels() -> list[str]:
    labels = ["Срок не наступил"]
    low = 1
    for high in AGE_BOUNDS:
        labels.append(f"{low}–{high} дн.")
        low = high + 1
    labels.append(f"более {AGE_BOUNDS[-1]} дн.")
    return labels


async def _ageing(session: AsyncSession) -> Series:
    found = {b: (s, n) for b, s, n in await repo.debt_by_age(session, clock.today(), AGE_BOUNDS)}
    rows = [Row(label, *found.get(index, (0, 0))) for index, label in enumerate(_age_labels())]
    return Series("ageing", "Долг по срокам просрочки", "начислений", rows)


async def _services(session: AsyncSession) -> Series:
    found = sorted(await repo.debt_by_service_kind(session), key=lambda r: (-r[1], r[0]))
    rows = [
        Row("Лицевой счёт" if kind == "account" else service_kind_label(kind), amount, count)
        for kind, amount, count in found
    ]
    return Series("services", "Долг по видам услуг", "счетов", rows)


async def _collected(session: AsyncSession) -> Series:
    zone = ZoneInfo(get_settings().timezone)
    today = clock.now().astimezone(zone).date()
    since = dt.datetime.combine(today.replace(day=1), dt.time(), zone)
    until = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), zone)
    totals: dict[str, list[int]] = {}
    for method, kind, amount, count in await repo.collected_by_channel(session, since, until):
        # An agent's payments are a bank's or an agency's by the agent's kind.
        by_agent = method in ("agent", "registry")
        label = CHANNELS.get((method, (kind or "payment") if by_agent else None), method)
        slot = totals.setdefault(label, [0, 0])
        slot[0] += amount
        slot[1] += count
    rows = [Row(label, a, n) for label, (a, n) in sorted(totals.items(), key=lambda i: -i[1][0])]
    return Series("collected", f"Собрано с {since:%d.%m.%Y} по каналам", "платежей", rows)


async def _agencies(session: AsyncSession) -> Series:
    rows = [
        Row(name, owed, accounts, handed)
        for name, accounts, handed, owed in await repo.agency_portfolios(session)
    ]
    return Series("agencies", "Портфели агентств: ещё не оплачено", "счетов", rows)


LADDER_ACTIONS = {
    "remind": "Напоминание до срока",
    "notice_1": "Первое уведомление",
    "notice_2": "Второе уведомление",
    "suspend_service": "Услуга приостановлена",
    "hand_over": "Передан агентству",
    "court_package": "Готов к суду",
    "write_off": "Предложен к списанию",
}


async def _ladder(session: AsyncSession) -> Series:
    ranks = {action: index for index, action in enumerate(LADDER_ACTIONS, start=1)}
    found = {r: (s, n) for r, s, n in await repo.debt_by_ladder_step(session, ranks)}
    rows = [
        Row(label, *found.get(ranks[action], (0, 0))) for action, label in LADDER_ACTIONS.items()
    ]
    return Series("ladder", "Долг по шагам взыскания (последний пройденный)", "начислений", rows)


BUILDERS = {
    "ageing": _ageing,
    "services": _services,
    "ladder": _ladder,
    "collected": _collected,
    "agencies": _agencies,
}
NAMES = tuple(BUILDERS)


async def series(session: AsyncSession, name: str, *, actor: Actor) -> Series:
    require(actor, "collections.dashboard")
    builder = BUILDERS.get(name)
    if builder is None:
        raise DashboardNotFound(f"no dashboard {name!r}; one of {', '.join(NAMES)}")
    return await builder(session)


async def all_series(session: AsyncSession, *, actor: Actor) -> list[Series]:
    require(actor, "collections.dashboard")
    return [await builder(session) for builder in BUILDERS.values()]


def to_csv(found: Series) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    header = ["label", "amount", "count"]
    if any(r.extra_minor is not None for r in found.rows):
        header.append("handed_over")
    writer.writerow(header)
    for r in found.rows:
        line = [r.label, format_plain(r.amount_minor), str(r.count)]
        if len(header) == 4:
            line.append(format_plain(r.extra_minor or 0))
        writer.writerow(line)
    return out.getvalue()
