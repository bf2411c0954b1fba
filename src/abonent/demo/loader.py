"""Demo data: a few hundred subscribers and half a year of their lives, deterministic per seed.

Nothing is inserted behind the services' backs: customers, accounts, services and contracts go
through :mod:`abonent.accounts.service`, usage through the charges import, monthly fees through
the fee run, payments through :func:`abonent.payments.service.book_payment`, suspensions through
:func:`abonent.accounts.service.change_service_status`. Time is simulated: a frozen clock walks
from the first day of the first month to "now", so fees, due dates, payments and ageing are what
they would be had the system been running all along.

The only thing written directly: outbox messages queued during the simulated past (payment
confirmations, mostly) are marked delivered at the end, so that a freshly started worker does not
send months of old SMS.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import service as accounts
from abonent.apikeys import service as apikeys
from abonent.charges.fees import run_fees
from abonent.charges.parser import COLUMNS
from abonent.charges.service import import_charges
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.demo import names
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock, use_clock
from abonent.kit.errors import Conflict, InvalidInput
from abonent.kit.money import format_plain
from abonent.ledger.reconcile import reconcile
from abonent.ledger.service import DEBIT, lock_balance
from abonent.models import (
    Account,
    AccountBalance,
    Customer,
    OpenItem,
    OutboxMessage,
    Payment,
    Service,
)
from abonent.payments import sources
from abonent.payments.agents.service import create_agent
from abonent.payments.service import PaymentRequest, book_payment
from abonent.statement.schemas import Statement
from abonent.statement.service import statement_for

DEFAULT_SEED = 7
DEFAULT_CUSTOMERS = 260
MONTHS = 5
AGENT_CODE = "DEMOBANK"
AGENT_PASSWORD = "demo-pass-2026"  # noqa: S105 - a published demo credential
AGENT_IPS = ("127.0.0.1/32", "::1")
KEY_ROLES = ("admin", "clerk", "hotline", "collections", "integration")
SUSPEND_AFTER_DAYS = 30
LATE_WINDOW = dt.timedelta(days=10)
OPERATOR = Actor("demo:operator", "admin")

# (code, name, service kind, monthly fee in kopecks)
TARIFFS = (
    ("MOB-SMART", "Смарт", "mobile", 55_000),
    ("MOB-MAX", "Тарифище", "mobile", 75_000),
    ("MOB-OWN", "Для своих", "mobile", 30_000),
    ("MOB-BASIC", "Базовый (без абонентской платы)", "mobile", 0),
    ("NET-100", "Домашний интернет 100 Мбит/с", "internet", 50_000),
    ("NET-500", "Домашний интернет 500 Мбит/с", "internet", 75_000),
    ("TV-BASE", "Базовое ТВ", "tv", 19_900),
    ("TV-PLUS", "Расширенное ТВ", "tv", 39_900),
)
MOBILE_TARIFFS = ("MOB-SMART", "MOB-SMART", "MOB-MAX", "MOB-OWN", "MOB-BASIC")
_MSISDN_PREFIXES = ("903", "905", "909", "910", "915", "916", "917", "919", "925", "926", "977")
PERSONAS = ("diligent", "prepaid", "late", "stopped", "closing")
_PERSONA_WEIGHTS = (40, 20, 25, 10, 5)


class DemoDatabaseNotEmpty(Conflict):
    default_code = "demo_database_not_empty"


@dataclass(slots=True)
class ServicePlan:
    kind: str
    tariff: str | None
    activated: dt.datetime
    msisdn: str | None = None
    login: str | None = None
    card: str | None = None
    chip: str | None = None
    id: int = 0


@dataclass(slots=True)
class AccountPlan:
    customer: int
    persona: str
    opened: dt.datetime
    services: list[ServicePlan]
    pay_day: int
    method: str
    credit_limit_minor: int = 0
    contract: bool = False
    stops_paying: dt.date | None = None
    closes: dt.datetime | None = None
    lump_minor: int = 0
    round_up: bool = False
    title: str = ""
    timezone: str | None = None
    id: int = 0
    number: str = ""


@dataclass(slots=True)
class CustomerPlan:
    kind: str
    full_name: str
    onboard: dt.datetime
    passport: str | None = None
    inn: str | None = None
    birth_date: dt.date | None = None
    contact_phone: str | None = None
    email: str | None = None
    timezone: str | None = None
    accounts: list[AccountPlan] = field(default_factory=list)
    id: int = 0


@dataclass(frozen=True, slots=True)
class Showcase:
    number: str
    title: str
    statement: Statement
    suspended: tuple[str, ...] = ()


@dataclass(slots=True)
class DemoReport:
    seed: int
    today: dt.date
    customers: int = 0
    accounts: int = 0
    services: int = 0
    payments: int = 0
    payments_minor: int = 0
    charges: int = 0
    charges_minor: int = 0
    in_credit: int = 0
    overdue: int = 0
    suspended_for_debt: int = 0
    closed_with_debt: int = 0
    api_keys: list[tuple[str, str, str]] = field(default_factory=list)
    """(role, name, plain key)"""
    agent_code: str = AGENT_CODE
    agent_password: str = AGENT_PASSWORD
    showcase: list[Showcase] = field(default_factory=list)
    lookup_msisdn: str = ""
    lookup_login: str = ""
    lookup_tv: tuple[str, str] = ("", "")
    pay_number: str = ""
    """An account in debt to try an OSMP check/pay on."""
    console_person: tuple[str, str, str] = ("", "", "")
    """(name, phone, passport) of a person with two accounts, for the staff console's check."""
    cabinet_msisdn: str = ""
    """A SIM whose holder owes on several services (internet and TV): the cabinet's demo login."""
    cabinet_accounts: tuple[str, ...] = ()
    reconciled: bool = False


Progress = Callable[[str, int, int | None], None]
_Event = tuple[dt.datetime, int, Callable[[AsyncSession, Any], Awaitable[None]], Any]


async def load_demo(
    db: Database,
    *,
    seed: int = DEFAULT_SEED,
    customers: int = DEFAULT_CUSTOMERS,
    progress: Progress | None = None,
) -> DemoReport:
    """Load the demo into an empty database; refuse (DemoDatabaseNotEmpty) any other."""
    if customers < 10:
        raise InvalidInput("the demo needs at least 10 customers", code="demo_too_small")
    async with db.session() as session:
        existing = await session.scalar(select(func.count()).select_from(Customer)) or 0
    if existing:
        raise DemoDatabaseNotEmpty(
            f"the database already holds {existing} customers; the demo loads only into an empty "
            "database (`make demo` starts from a fresh file)"
        )
    settings = get_settings()
    now = clock.now()
    simulation = _Simulation(db, seed, customers, now, settings.timezone, progress)
    return await simulation.run()


class _Simulation:
    def __init__(
        self,
        db: Database,
        seed: int,
        customers: int,
        now: dt.datetime,
        timezone: str,
        progress: Progress | None,
    ) -> None:
        self.db = db
        self.seed = seed
        self.count = customers
        self.now = now
        self.tz = ZoneInfo(timezone)
        self.today = now.astimezone(self.tz).date()
        first = self.today.replace(day=1)
        for _ in range(MONTHS):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        self.start = first
        self.rng = random.Random(seed)
        self.numbers_rng = random.Random(seed * 7_919 + 1)
        self.progress = progress
        self.report = DemoReport(seed=seed, today=self.today)
        self.customers: list[CustomerPlan] = []
        self.accounts: list[AccountPlan] = []
        self.clock = FrozenClock(self.at(self.start, 0))
        self.txn = 0
        self.keys: dict[str, Actor] = {}
        self.integration_key_id = 0
        self.agent_id = 0

    # --- time -----------------------------------------------------------------------------

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), self.tz).astimezone(dt.UTC)

    def travel(self, moment: dt.datetime) -> None:
        self.clock.at = min(moment, self.now)

    # --- the plan -------------------------------------------------------------------------

    def plan(self) -> None:
        rng = self.rng
        used_msisdns: set[str] = set()
        used_passports: set[str] = set()
        serial = 0
        days = (self.today - self.start).days

        def msisdn() -> str:
            while True:
                number = f"+7{rng.choice(_MSISDN_PREFIXES)}{rng.randrange(10_000_000):07d}"
                if number not in used_msisdns:
                    used_msisdns.add(number)
                    return number

        def when(after: int, before: int) -> dt.datetime:
            day = self.start + dt.timedelta(days=rng.randint(after, max(after, before)))
            return self.at(day, rng.randint(9, 19), rng.choice((0, 15, 30, 45)))

        def service(kind: str, activated: dt.datetime, surname: str = "") -> ServicePlan:
            nonlocal serial
            serial += 1
            if kind == "mobile":
                return ServicePlan(kind, rng.choice(MOBILE_TARIFFS), activated, msisdn=msisdn())
            if kind == "internet":
                login = f"{names.translit(surname or 'user')}_{serial:04d}"
                return ServicePlan(kind, rng.choice(("NET-100", "NET-500")), activated, login=login)
            return ServicePlan(
                kind,
                rng.choice(("TV-BASE", "TV-PLUS")),
                activated,
                card=f"7500{rng.randrange(10**8):08d}",
                chip=f"{rng.randrange(16**8):08X}",
            )

        def layout() -> list[str]:
            roll = rng.random()
            if roll < 0.45:
                return ["mobile"] * rng.choice((1, 1, 2, 3))
            if roll < 0.65:
                return ["internet", "tv"]
            if roll < 0.75:
                return ["internet"]
            return ["mobile"] * rng.choice((1, 2)) + ["internet"] + (["tv"] * rng.choice((0, 1)))

        for index in range(self.count):
            company = index >= 8 and rng.random() < 0.03
            early = index < 8 or rng.random() < 0.75
            onboard = when(0, 13) if early else when(14, days - 10)
            if company:
                plan = CustomerPlan(
                    "company",
                    rng.choice(names.COMPANIES),
                    onboard,
                    inn=f"77{rng.randrange(10**8):08d}",
                    contact_phone=msisdn(),
                    email=f"office{index}@example.ru",
                )
                kinds_of = [["mobile"] * rng.randint(3, 6)]
            else:
                who = names.person(rng)
                while True:
                    passport = (
                        f"{rng.randint(10, 99)}{rng.randint(0, 24):02d}{rng.randrange(10**6):06d}"
                    )
                    if passport not in used_passports:
                        used_passports.add(passport)
                        break
                plan = CustomerPlan(
                    "person",
                    who.full_name,
                    onboard,
                    passport=passport,
                    birth_date=dt.date(
                        rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28)
                    ),
                    email=(
                        f"{names.translit(who.name)}.{names.translit(who.surname)}{index}@example.ru"
                        if rng.random() < 0.4
                        else None
                    ),
                    timezone=names.timezone(rng),
                )
                kinds_of = [layout()]
                if rng.random() < 0.15:
                    kinds_of.append(["internet", "tv"] if "mobile" in kinds_of[0] else ["mobile"])
            surname = plan.full_name.split()[0] if plan.kind == "person" else "office"
            for kinds in kinds_of:
                persona = "diligent" if company else rng.choices(PERSONAS, _PERSONA_WEIGHTS)[0]
                services = [service(kind, onboard, surname) for kind in kinds]
                if len(services) > 1 and persona != "closing" and rng.random() < 0.2:
                    # A SIM or the TV added some months later.
                    services[-1].activated = max(onboard, when(20, days - 5))
                account = AccountPlan(
                    index,
                    persona,
                    onboard,
                    services,
                    pay_day=rng.randint(18, 27) if persona == "late" else rng.randint(4, 13),
                    method=rng.choices(("agent", "office", "api"), (60, 25, 15))[0],
                    credit_limit_minor=rng.choice((0, 0, 30_000, 50_000))
                    if "mobile" in kinds
                    else 0,
                    contract=any(k != "mobile" for k in kinds),
                    round_up=rng.random() < 0.3,
                )
                self._persona(account, days)
                plan.accounts.append(account)
                self.accounts.append(account)
            if plan.kind == "person":
                first_sim = next(
                    (s.msisdn for a in plan.accounts for s in a.services if s.msisdn), None
                )
                plan.contact_phone = first_sim or msisdn()
            self.customers.append(plan)
        self._showcase(msisdn, service)
        self._zones()

    def _zones(self) -> None:
        """Where staff know the subscriber's zone: a third of the people on the customer, a
        third on each account, a third not at all, so that the contact gate's fallback (the
        phone number's region, else the operator's zone) shows. By index, not by the dice, so
        the rest of the demo is what it was."""
        for index, plan in enumerate(self.customers):
            drawn, plan.timezone = plan.timezone, None
            if plan.kind != "person" or index == 1:
                continue  # the second showcase customer: the region of its SIM decides
            if index % 3 == 0:
                plan.timezone = drawn
            elif index % 3 == 1:
                for account in plan.accounts:
                    account.timezone = drawn

    def _persona(self, account: AccountPlan, days: int) -> None:
        rng = self.rng
        if account.persona == "prepaid":
            account.lump_minor = rng.choice((300_000, 500_000, 800_000))
        elif account.persona == "stopped":
            account.stops_paying = self.today - dt.timedelta(days=rng.randint(40, min(150, days)))
        elif account.persona == "closing":
            stop = self.today - dt.timedelta(days=rng.randint(100, min(150, days)))
            account.stops_paying = stop
            account.closes = self.at(stop + dt.timedelta(days=rng.randint(40, 60)), 11)

    def _showcase(
        self,
        msisdn: Callable[[], str],
        service: Callable[..., ServicePlan],
    ) -> None:
        """Give the first customers the situations worth showing, whatever the dice said."""
        days = (self.today - self.start).days
        early = self.at(self.start + dt.timedelta(days=2), 11)
        first, second, third, fourth, fifth = (self.customers[i] for i in range(5))

        family = first.accounts[0]
        family.persona, family.lump_minor, family.stops_paying, family.closes = (
            "prepaid",
            2_500_000,
            None,
            None,
        )
        family.services = [service("mobile", early) for _ in range(3)]
        family.title = "семейный счёт, три SIM-карты, деньги внесены вперёд: баланс в плюсе"

        late = second.accounts[0]
        # Pays late, and not yet this time: what fell due since the last payment (the 15th of
        # this month at the earliest) and a SIM replacement due five days ago are overdue.
        late.persona, late.stops_paying, late.closes = "late", self.today - LATE_WINDOW, None
        late.services = [service("mobile", early)]
        # A Novosibirsk MTS number (913 700 xxxx) and no zone set: its notices keep
        # Novosibirsk's hours, found from the number's range (contact/def_codes.py).
        late.services[0].msisdn = "+79137000001"
        late.title = "платит с опозданием: небольшая просрочка, меньше 30 дней"

        split = third.accounts[0]
        split.persona, split.closes = "stopped", None
        split.stops_paying = self.today - dt.timedelta(days=min(150, days - 1))
        split.services = [service("internet", early, third.full_name.split()[0])]
        # Added today: its first fee is not due yet, whatever day of the month today is.
        sim_added = min(self.at(self.today, 0, 5), self.now - dt.timedelta(seconds=1))
        split.services.append(service("mobile", sim_added))
        split.services[-1].tariff = "MOB-SMART"
        split.contract = True
        split.title = (
            "интернет просрочен более 90 дней и отключён за долг; SIM, подключённая на этот "
            "счёт сегодня, — без просрочки"
        )

        closed = fourth.accounts[0]
        closed.persona = "closing"
        closed.stops_paying = self.today - dt.timedelta(days=min(130, days - 20))
        closed.closes = self.at(closed.stops_paying + dt.timedelta(days=50), 11)
        closed.services = [
            service("mobile", early),
            service("internet", early, fourth.full_name.split()[0]),
        ]
        closed.contract = True
        closed.title = "счёт закрыт, долг остался: его можно оплатить и передать коллекторам"

        home = fifth.accounts[0]
        home.persona, home.closes = "stopped", None
        # Stopped long enough that even a bill paid the day before is now 90+ days overdue.
        home.stops_paying = self.today - dt.timedelta(days=min(140, days - 1))
        home.services = [
            service("internet", early, fifth.full_name.split()[0]),
            service("tv", early),
        ]
        home.contract = True
        home.title = "домашний интернет и ТВ: долг более 90 дней, обе услуги отключены за долг"
        if len(fifth.accounts) == 1:
            mobile = AccountPlan(
                4, "diligent", early, [service("mobile", early)], pay_day=7, method="agent"
            )
            fifth.accounts.append(mobile)
            self.accounts.append(mobile)
        fifth.accounts[1].persona, fifth.accounts[1].stops_paying = "diligent", None
        fifth.accounts[1].closes = None
        fifth.accounts[1].services = [service("mobile", early), service("mobile", early)]
        fifth.accounts[1].title = "второй счёт того же абонента: мобильная связь, оплачено вовремя"
        for plan in (first, second, third, fourth, fifth):
            plan.onboard = min(plan.onboard, early)
            for account in plan.accounts:
                account.opened = plan.onboard
                for s in account.services:
                    s.activated = max(s.activated, plan.onboard)
            if plan.kind == "person":
                plan.contact_phone = next(
                    (s.msisdn for a in plan.accounts for s in a.services if s.msisdn), msisdn()
                )

    # --- running it -----------------------------------------------------------------------

    async def run(self) -> DemoReport:
        self.plan()
        with use_clock(self.clock):
            await self._setup()
            day = self.start
            total = (self.today - self.start).days + 1
            while day <= self.today:
                await self._day(day)
                if self.progress is not None:
                    self.progress("demo", (day - self.start).days + 1, total)
                day += dt.timedelta(days=1)
            self.travel(self.now)
            await run_fees(self.db, f"{self.today:%Y-%m}", actor=OPERATOR)
            await self._history_delivered()
        await self._summarise()
        return self.report

    async def _setup(self) -> None:
        self.travel(self.at(self.start, 8))
        async with self.db.session(write=True) as s:
            for code, name, kind, fee in TARIFFS:
                await accounts.ensure_tariff(
                    s, code=code, name=name, service_kind=kind, monthly_fee_minor=fee
                )
            for role in KEY_ROLES:
                key, plain = await apikeys.create(s, name=f"demo-{role}", role=role, actor=OPERATOR)
                self.report.api_keys.append((role, key.name, plain))
                self.keys[role] = apikeys.actor_of(key)
                if role == "integration":
                    self.integration_key_id = key.id
            agent = await create_agent(
                s,
                code=AGENT_CODE,
                password=AGENT_PASSWORD,
                allowed_ips=AGENT_IPS,
                actor=OPERATOR,
                name="Демо-банк",
                disclosure="masked",
            )
            self.agent_id = agent.id

    async def _day(self, day: dt.date) -> None:
        if day.day == 20:
            await self._suspend_debtors(day)
        if day.day == 3:
            await self._import_usage(day)
        if day.day == 1:
            self.travel(self.at(day, 6))
            await run_fees(self.db, f"{day:%Y-%m}", actor=OPERATOR)
        if day == self.today - LATE_WINDOW:
            await self._replace_sim(day)
        events = self._events(day)
        if events:
            async with self.db.session(write=True) as s:
                for moment, _order, action, plan in sorted(events, key=lambda e: (e[0], e[1])):
                    self.travel(moment)
                    await action(s, plan)
        if (day + dt.timedelta(days=1)).day == 1 and day < self.today:
            # Month end: services that started during the month pay for their days.
            self.travel(self.at(day, 23))
            await run_fees(self.db, f"{day:%Y-%m}", actor=OPERATOR)

    def _events(self, day: dt.date) -> list[_Event]:
        events: list[_Event] = []
        for index, plan in enumerate(self.customers):
            if plan.onboard.astimezone(self.tz).date() == day:
                events.append((plan.onboard, index, self._onboard, plan))
        for index, account in enumerate(self.accounts):
            for service in account.services:
                # Those activated with the account are added by the onboarding itself; a later
                # one, even later the same day, comes after it (events run in time order).
                if (
                    not service.id
                    and service.activated > account.opened
                    and service.activated.astimezone(self.tz).date() == day
                ):
                    events.append((service.activated, index, self._add_service, (account, service)))
            if not account.id:
                continue
            if account.closes is not None and account.closes.astimezone(self.tz).date() == day:
                events.append((account.closes, index, self._close, account))
            if self._pays_on(account, day):
                moment = self.at(day, 10 + index % 10, (index * 7) % 60)
                events.append((moment, index, self._pay, account))
        return [e for e in events if e[0] <= self.now]

    def _pays_on(self, account: AccountPlan, day: dt.date) -> bool:
        if account.stops_paying is not None and day >= account.stops_paying:
            return False
        if account.closes is not None and day >= account.closes.astimezone(self.tz).date():
            return False
        opened = account.opened.astimezone(self.tz).date()
        if account.persona == "prepaid":
            return day == opened + dt.timedelta(days=1) or day.day == 10
        return day.day == account.pay_day and day > opened

    # --- actions --------------------------------------------------------------------------

    async def _onboard(self, s: AsyncSession, plan: CustomerPlan) -> None:
        actor = self.keys["clerk"]
        customer = await accounts.create_customer(
            s,
            kind=plan.kind,
            full_name=plan.full_name,
            actor=actor,
            passport=plan.passport,
            inn=plan.inn,
            birth_date=plan.birth_date,
            contact_phone=plan.contact_phone,
            email=plan.email,
            timezone=plan.timezone,
        )
        plan.id = customer.id
        for account_plan in plan.accounts:
            account = await accounts.open_account(
                s,
                customer_id=customer.id,
                actor=actor,
                credit_limit_minor=account_plan.credit_limit_minor,
                rng=self.numbers_rng,
                timezone=account_plan.timezone,
            )
            account_plan.id, account_plan.number = account.id, account.number
            if account_plan.contract:
                await accounts.add_contract(
                    s,
                    account,
                    f"ДГ-{plan.onboard.year}-{account.id:05d}",
                    plan.onboard.astimezone(self.tz).date(),
                    actor=actor,
                )
            for service in account_plan.services:
                if service.activated <= self.clock.now():
                    await self._add_service(s, (account_plan, service))

    async def _add_service(self, s: AsyncSession, item: tuple[AccountPlan, ServicePlan]) -> None:
        account_plan, plan = item
        account = await s.get(Account, account_plan.id)
        assert account is not None
        made = await accounts.add_service(
            s,
            account,
            accounts.ServiceSpec(
                kind=plan.kind,
                msisdn=plan.msisdn,
                login=plan.login,
                smart_card=plan.card,
                chip_id=plan.chip,
                tariff_code=plan.tariff,
            ),
            actor=self.keys["clerk"],
        )
        plan.id = made.id

    async def _close(self, s: AsyncSession, plan: AccountPlan) -> None:
        account = await s.get(Account, plan.id)
        assert account is not None
        await accounts.change_account_status(
            s, account, "closed", actor=self.keys["clerk"], reason="расторжение договора"
        )

    async def _pay(self, s: AsyncSession, plan: AccountPlan) -> None:
        account = await s.get(Account, plan.id)
        assert account is not None
        balance = await lock_balance(s, plan.id)
        if plan.persona == "prepaid":
            opened = plan.opened.astimezone(self.tz).date()
            if self.clock.now().astimezone(self.tz).date() == opened + dt.timedelta(days=1):
                amount = plan.lump_minor
            elif balance.balance_minor < 30_000:
                amount = 300_000 + max(0, -balance.balance_minor)
            else:
                return
        else:
            amount = balance.debt_minor
            if plan.round_up and amount:
                amount = -(-amount // 10_000) * 10_000
        if amount <= 0:
            return
        self.txn += 1
        now = self.clock.now()
        if plan.method == "agent":
            source, method, actor = (
                sources.osmp(AGENT_CODE),
                "agent",
                Actor(f"agent:{AGENT_CODE}", "agent"),
            )
            txn, agent_id = f"{7_000_000_000 + self.txn}", self.agent_id
        elif plan.method == "office":
            source, method, actor = sources.OFFICE, "office", self.keys["clerk"]
            txn, agent_id = f"desk-{self.txn:06d}", None
        else:
            source, method = sources.api(self.integration_key_id), "api"
            actor, txn, agent_id = self.keys["integration"], f"bank-{self.txn:06d}", None
        await book_payment(
            s,
            PaymentRequest(
                account=account,
                amount_minor=amount,
                method=method,
                source=source,
                source_txn_id=txn,
                actor=actor,
                txn_date=now,
                agent_id=agent_id,
            ),
        )

    async def _suspend_debtors(self, day: dt.date) -> None:
        """Services with debt more than 30 days past due are suspended for it."""
        self.travel(self.at(day, 4))
        cutoff = day - dt.timedelta(days=SUSPEND_AFTER_DAYS)
        async with self.db.session(write=True) as s:
            overdue = (
                await s.scalars(
                    select(Service)
                    .join(Account, Account.id == Service.account_id)
                    .where(
                        Service.status == "active",
                        Account.status != "closed",
                        Service.id.in_(
                            select(OpenItem.service_id).where(
                                OpenItem.side == DEBIT,
                                OpenItem.remaining_minor > 0,
                                OpenItem.disputed.is_(False),
                                OpenItem.due_date < cutoff,
                            )
                        ),
                    )
                    .order_by(Service.id)
                )
            ).all()
            for service in overdue:
                await accounts.change_service_status(
                    s,
                    service,
                    "suspended",
                    actor=self.keys["collections"],
                    reason=f"задолженность более {SUSPEND_AFTER_DAYS} дней",
                    suspended_reason="debt",
                )

    async def _import_usage(self, day: dt.date) -> None:
        """On the 3rd, the rating system's file for the month before arrives."""
        period_end = day.replace(day=1) - dt.timedelta(days=1)
        period_start = period_end.replace(day=1)
        period = f"{period_end:%Y-%m}"
        rng = random.Random(f"{self.seed}:{period}")
        rows: list[tuple[str, ...]] = []
        for account in self.accounts:
            if not account.id:
                continue
            closed = account.closes.astimezone(self.tz).date() if account.closes else None
            if closed is not None and closed < period_start:
                continue
            for service in account.services:
                if not service.id or service.activated.astimezone(self.tz).date() > period_end:
                    continue
                base = f"demo-{period}-{service.id}"
                if service.kind == "mobile":
                    amount = rng.randint(3_000, 45_000) if service.tariff != "MOB-BASIC" else 0
                    amount += rng.randint(15_000, 90_000) if service.tariff == "MOB-BASIC" else 0
                    if rng.random() < 0.06:
                        amount += rng.randint(100_000, 400_000)  # roaming
                    rows.append(
                        _row(base, account.number, service.msisdn or "", amount, "usage", period,
                             period_end, "Звонки, SMS и интернет сверх пакета")
                    )  # fmt: skip
                elif service.kind == "tv" and rng.random() < 0.2:
                    rows.append(
                        _row(f"{base}-vod", account.number, f"tv:{service.card}",
                             rng.choice((19_900, 29_900, 39_900)), "one_off", period,
                             period_start + dt.timedelta(days=rng.randint(0, 25)),
                             "Фильм из видеотеки")
                    )  # fmt: skip
                elif service.kind == "internet" and rng.random() < 0.05:
                    visit = period_start + dt.timedelta(days=rng.randint(0, 25))
                    rows.append(
                        _row(f"{base}-visit", account.number, f"internet:{service.login}", 50_000,
                             "one_off", period, visit, "Выезд мастера")
                    )  # fmt: skip
        if not rows:
            return
        self.travel(self.at(day, 5))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
        text = out.getvalue()
        await import_charges(self.db, text, name=f"rating-{period}.csv", actor=OPERATOR)

    async def _replace_sim(self, day: dt.date) -> None:
        """A one-off charge for the late payer, through the import like any other."""
        late = self.customers[1].accounts[0]
        sim = late.services[0]
        self.travel(self.at(day, 9))
        row = _row(f"demo-sim-{sim.id}", late.number, sim.msisdn or "", 30_000, "one_off",
                   f"{day:%Y-%m}", day, "Замена SIM-карты")  # fmt: skip
        due = (day + dt.timedelta(days=5)).isoformat()
        text = ",".join(COLUMNS) + "\n" + ",".join((*row[:7], due, row[8])) + "\n"
        await import_charges(self.db, text, name="sim-replacement.csv", actor=OPERATOR)

    async def _history_delivered(self) -> None:
        async with self.db.session(write=True) as s:
            await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "pending")
                .values(status="done", processed_at=OutboxMessage.created_at)
            )

    # --- what to show ---------------------------------------------------------------------

    async def _summarise(self) -> None:
        report = self.report
        async with self.db.session() as s:
            report.customers = await _count(s, Customer)
            report.accounts = await _count(s, Account)
            report.services = await _count(s, Service)
            report.payments = await _count(s, Payment)
            # int(): PostgreSQL sums bigints into numerics.
            report.payments_minor = int(await s.scalar(select(func.sum(Payment.amount_minor))) or 0)
            report.charges = (
                await s.scalar(
                    select(func.count()).select_from(OpenItem).where(OpenItem.side == DEBIT)
                )
            ) or 0
            report.charges_minor = int(
                (
                    await s.scalar(
                        select(func.sum(OpenItem.amount_minor)).where(OpenItem.side == DEBIT)
                    )
                )
                or 0
            )
            report.in_credit = (
                await s.scalar(
                    select(func.count())
                    .select_from(AccountBalance)
                    .where(AccountBalance.balance_minor > 0)
                )
            ) or 0
            report.overdue = (
                await s.scalar(
                    select(func.count(func.distinct(OpenItem.account_id))).where(
                        OpenItem.side == DEBIT,
                        OpenItem.remaining_minor > 0,
                        OpenItem.due_date < self.today,
                    )
                )
            ) or 0
            report.suspended_for_debt = (
                await s.scalar(
                    select(func.count())
                    .select_from(Service)
                    .where(Service.status == "suspended", Service.suspended_reason == "debt")
                )
            ) or 0
            report.closed_with_debt = (
                await s.scalar(
                    select(func.count())
                    .select_from(Account)
                    .join(AccountBalance, AccountBalance.account_id == Account.id)
                    .where(Account.status == "closed", AccountBalance.debt_minor > 0)
                )
            ) or 0
            for plan in self.customers[:5]:
                for account_plan in plan.accounts:
                    if not account_plan.title:
                        continue
                    account = await s.get(Account, account_plan.id)
                    assert account is not None
                    statement = await statement_for(s, account, today=self.today)
                    suspended = (
                        await s.scalars(
                            select(Service.label).where(
                                Service.account_id == account.id,
                                Service.status == "suspended",
                            )
                        )
                    ).all()
                    report.showcase.append(
                        Showcase(
                            account.number,
                            f"{plan.full_name}: {account_plan.title}",
                            statement,
                            tuple(suspended),
                        )
                    )
            family = self.customers[0].accounts[0]
            report.lookup_msisdn = family.services[0].msisdn or ""
            split = self.customers[2].accounts[0]
            report.lookup_login = split.services[0].login or ""
            tv = next(s for s in self.customers[4].accounts[0].services if s.kind == "tv")
            report.lookup_tv = (tv.card or "", tv.chip or "")
            report.pay_number = self.customers[1].accounts[0].number
            home_owner = self.customers[4]
            report.console_person = (
                home_owner.full_name,
                home_owner.contact_phone or "",
                home_owner.passport or "",
            )
            home = home_owner
            report.cabinet_msisdn = (
                next((sv.msisdn for a in home.accounts for sv in a.services if sv.msisdn), "") or ""
            )
            report.cabinet_accounts = tuple(a.number for a in home.accounts)
            report.reconciled = (await reconcile(s)).clean


def _row(
    external_id: str,
    number: str,
    service: str,
    amount_minor: int,
    kind: str,
    period: str,
    charged_on: dt.date,
    description: str,
) -> tuple[str, ...]:
    return (
        external_id,
        number,
        service,
        format_plain(amount_minor),
        kind,
        period,
        charged_on.isoformat(),
        "",
        description,
    )


async def _count(session: AsyncSession, model: type) -> int:
    return (await session.scalar(select(func.count()).select_from(model))) or 0
