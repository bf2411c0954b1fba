"""Customers, accounts, services and contracts: opening, changing status, closing, finding."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import available_timezones

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import repository as repo
from abonent.accounts.errors import (
    AccountClosed,
    AccountNotFound,
    CustomerNotFound,
    IdentifierTaken,
    InvalidStatusChange,
    ServiceNotFound,
    TariffNotFound,
)
from abonent.audit.service import record
from abonent.config import get_settings
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import InvalidInput
from abonent.kit.numbers import (
    generate_account_number,
    normalize_msisdn,
    validate_account_number,
)
from abonent.kit.pii import PiiCipher, mask_passport, normalize_passport
from abonent.ledger.balances import open_balance
from abonent.models import (
    Account,
    Contract,
    Customer,
    Service,
    ServiceStatusChange,
    Tariff,
)
from abonent.models.accounts import ACCOUNT_STATUSES, SERVICE_KINDS

_SERVICE_LABELS = {
    "mobile": "Мобильная связь",
    "internet": "Домашний интернет",
    "tv": "ТВ",
    # Debt not tied to a service (an account-level fee), as the statement shows it.
    "account": "Лицевой счёт",
}


def _display_msisdn(e164: str) -> str:
    """'+79161234567' -> '+7 916 123-45-67': how a person writes their number."""
    return str(
        phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    )


@lru_cache(maxsize=1)
def pii() -> PiiCipher:
    settings = get_settings()
    return PiiCipher(settings.secret("pii_key"), settings.secret("pii_hash_key"))


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_name(value: str) -> str:
    """An IANA time zone name as staff typed it, checked (``Asia/Novosibirsk``)."""
    name = (value or "").strip()
    if name not in _zone_names():
        raise InvalidInput(
            f"неизвестный часовой пояс {name[:64]!r}: нужно имя IANA, например Asia/Novosibirsk",
            code="timezone_invalid",
            field="timezone",
        )
    return name


def parse_number(raw: str) -> str:
    """Validate the shape and check digit of an account number typed by anyone."""
    cfg = get_settings().account_number
    return validate_account_number(raw, length=cfg.length, legacy_pattern=cfg.legacy_pattern)


async def get_account(session: AsyncSession, raw_number: str) -> Account:
    """Find by number: a mistyped number (InvalidInput) is told apart from an unknown one."""
    number = parse_number(raw_number)
    account = await repo.by_number(session, number)
    if account is None:
        raise AccountNotFound(f"no account {number}")
    return account


async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    found = await repo.customer(session, customer_id)
    if found is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    return found


async def holder_name(session: AsyncSession, account: Account) -> str:
    """The full name of the account's holder ("" if the customer has none)."""
    return await repo.holder_name(session, account.customer_id) or ""


async def get_service(session: AsyncSession, service_id: int) -> Service:
    found = await repo.service(session, service_id)
    if found is None:
        raise ServiceNotFound(f"no service {service_id}")
    return found


# --- customers --------------------------------------------------------------------------------


async def create_customer(
    session: AsyncSession,
    *,
    kind: str,
    full_name: str,
    actor: Actor,
    passport: str | None = None,
    inn: str | None = None,
    birth_date: dt.date | None = None,
    contact_phone: str | None = None,
    email: str | None = None,
    timezone: str | None = None,
) -> Customer:
    if kind not in ("person", "company"):
        raise InvalidInput("kind must be 'person' or 'company'", code="customer_kind_invalid")
    name = " ".join((full_name or "").split())
    if not name or len(name) > 255:
        raise InvalidInput("full_name is required (at most 255 characters)", code="name_invalid")
    if kind == "person" and passport is None:
        raise InvalidInput("a person needs passport data", code="passport_required")
    if inn is not None and not (inn.isascii() and inn.isdigit() and len(inn) in (10, 12)):
        raise InvalidInput("INN must be 10 or 12 digits", code="inn_invalid")
    customer = Customer(
        kind=kind,
        full_name=name,
        inn=inn,
        birth_date=birth_date,
        contact_phone=normalize_msisdn(contact_phone) if contact_phone else None,
        email=email,
        # None stays None: a filled-in operator's zone would hide the phone number's region
        # from the contact gate (contact/rules.py:resolve_zone).
        timezone=zone_name(timezone) if timezone else None,
        created_at=clock.now(),
    )
    if passport is not None:
        normalized = normalize_passport(passport)
        customer.passport_enc = pii().encrypt(normalized)
        customer.passport_hash = pii().lookup_hash(normalized)
        customer.passport_masked = mask_passport(normalized)
    session.add(customer)
    await session.flush()
    record(session, actor, "customer.create", object_type="customer", object_id=customer.id)
    return customer


async def customers_by_passport(session: AsyncSession, passport: str) -> Sequence[Customer]:
    digest = pii().lookup_hash(normalize_passport(passport))
    return await repo.customers_by_passport_hash(session, digest)


async def identify_by_passport(
    session: AsyncSession, passport: str, *, actor: Actor, reason: str | None = None
) -> Sequence[Customer]:
    """Find customers by passport as an identity check: audited even when nobody matches.

    The audit keeps the masked passport only: the trail must not become a copy of the data.
    """
    normalized = normalize_passport(passport)
    found = await customers_by_passport(session, normalized)
    why = reason.strip() if reason and reason.strip() else None
    for customer in found:
        record(
            session,
            actor,
            "customer.identity_check",
            object_type="customer",
            object_id=customer.id,
            reason=why,
            passport=mask_passport(normalized),
        )
    if not found:
        record(
            session,
            actor,
            "customer.identity_check",
            object_type="customer",
            object_id="no_match",
            reason=why,
            passport=mask_passport(normalized),
        )
    await session.flush()
    return found


def reveal_passport(
    session: AsyncSession, customer: Customer, *, actor: Actor, reason: str
) -> str | None:
    """The full passport, for a staff member with a stated reason; every reveal is audited."""
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required to reveal personal data", code="reason_required")
    if customer.passport_enc is None:
        return None
    record(
        session,
        actor,
        "customer.passport_reveal",
        object_type="customer",
        object_id=customer.id,
        reason=reason.strip(),
    )
    return pii().decrypt(customer.passport_enc)


# --- accounts ---------------------------------------------------------------------------------


async def open_account(
    session: AsyncSession,
    *,
    customer_id: int,
    actor: Actor,
    credit_limit_minor: int = 0,
    currency: str | None = None,
    number: str | None = None,
    rng: random.Random | None = None,
    timezone: str | None = None,
) -> Account:
    """Open an account; ``timezone`` is where its subscriber lives, if staff know it (else the
    contact gate falls back on the holder's, the phone number's and the operator's zone)."""
    await get_customer(session, customer_id)
    zone = zone_name(timezone) if timezone else None
    if type(credit_limit_minor) is not int or credit_limit_minor < 0:
        raise InvalidInput("credit_limit_minor must be kopecks >= 0", code="credit_limit_invalid")
    currency = currency or get_settings().currency
    if currency != get_settings().currency:
        raise InvalidInput(f"only {get_settings().currency} accounts", code="currency_invalid")
    if number is not None:
        number = parse_number(number)
        if await repo.number_exists(session, number):
            raise IdentifierTaken(f"account {number} exists", code="account_number_taken")
    else:
        length = get_settings().account_number.length
        number = generate_account_number(rng, length)
        while await repo.number_exists(session, number):
            number = generate_account_number(rng, length)
    now = clock.now()
    account = Account(
        number=number,
        customer_id=customer_id,
        status="active",
        currency=currency,
        credit_limit_minor=credit_limit_minor,
        opened_at=now,
        timezone=zone,
    )
    session.add(account)
    await session.flush()
    open_balance(session, account.id, at=now)
    record(
        session,
        actor,
        "account.open",
        object_type="account",
        object_id=number,
        account_id=account.id,
        credit_limit_minor=credit_limit_minor,
    )
    await session.flush()
    return account


async def set_credit_limit(
    session: AsyncSession, account: Account, credit_limit_minor: int, *, actor: Actor
) -> Account:
    if type(credit_limit_minor) is not int or credit_limit_minor < 0:
        raise InvalidInput("credit_limit_minor must be kopecks >= 0", code="credit_limit_invalid")
    if account.status == "closed":
        raise AccountClosed(f"account {account.number} is closed: it takes no new credit")
    previous, account.credit_limit_minor = account.credit_limit_minor, credit_limit_minor
    record(
        session,
        actor,
        "account.credit_limit",
        object_type="account",
        object_id=account.number,
        account_id=account.id,
        previous=previous,
        new=credit_limit_minor,
    )
    await session.flush()
    return account


async def set_timezone(
    session: AsyncSession, account: Account, timezone: str | None, *, actor: Actor
) -> Account:
    """Set (or, with None, clear) the time zone of the account's subscriber; audited."""
    zone = zone_name(timezone) if timezone is not None else None
    previous, account.timezone = account.timezone, zone
    record(
        session,
        actor,
        "account.timezone",
        object_type="account",
        object_id=account.number,
        account_id=account.id,
        previous=previous,
        new=zone,
    )
    await session.flush()
    return account


async def change_account_status(
    session: AsyncSession, account: Account, status: str, *, actor: Actor, reason: str
) -> Account:
    """Suspend, reactivate or close an account. A closed account is never reopened."""
    if status not in ACCOUNT_STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(ACCOUNT_STATUSES)}", code="status_invalid"
        )
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required", code="reason_required")
    if account.status == "closed":
        raise AccountClosed(f"account {account.number} is closed; its debt can still be paid")
    if account.status == status:
        raise InvalidStatusChange(f"account {account.number} is already {status}")
    previous = account.status
    account.status = status
    account.status_reason = reason.strip()[:255]
    if status == "closed":
        account.closed_at = clock.now()
        for service in await repo.services_of(session, account.id):
            if service.status != "closed":
                _change_service(session, service, "closed", "account closed", actor)
                service.closed_at = account.closed_at
    record(
        session,
        actor,
        f"account.{status}",
        object_type="account",
        object_id=account.number,
        account_id=account.id,
        reason=reason,
        previous=previous,
    )
    await session.flush()
    return account


# --- services ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    kind: str
    msisdn: str | None = None
    login: str | None = None
    smart_card: str | None = None
    chip_id: str | None = None
    tariff_code: str | None = None
    label: str | None = None


async def add_service(
    session: AsyncSession, account: Account, spec: ServiceSpec, *, actor: Actor
) -> Service:
    if account.status == "closed":
        raise AccountClosed(f"account {account.number} is closed")
    if spec.kind not in SERVICE_KINDS:
        raise InvalidInput(
            f"kind must be one of {', '.join(SERVICE_KINDS)}", code="service_kind_invalid"
        )
    service = Service(
        account_id=account.id, kind=spec.kind, status="active", activated_at=clock.now()
    )
    if spec.kind == "mobile":
        if not spec.msisdn:
            raise InvalidInput("a mobile service needs an msisdn", code="msisdn_required")
        service.msisdn = normalize_msisdn(spec.msisdn)
        if await repo.msisdn_taken(session, service.msisdn):
            raise IdentifierTaken(f"{service.msisdn} is already in use", code="msisdn_taken")
        default_label = _display_msisdn(service.msisdn)
    elif spec.kind == "internet":
        login = (spec.login or "").strip()
        if not login or len(login) > 64 or not login.isprintable() or " " in login:
            raise InvalidInput(
                "an internet service needs a login (no spaces, ≤ 64)", code="login_invalid"
            )
        if await repo.login_taken(session, login):
            raise IdentifierTaken(f"login {login} is already in use", code="login_taken")
        service.login = login
        default_label = f"Интернет: {login}"
    else:
        card, chip = (spec.smart_card or "").strip(), (spec.chip_id or "").strip()
        if not (card.isascii() and card.isdigit() and 6 <= len(card) <= 32) or not (
            chip.isascii() and chip.isalnum() and len(chip) <= 32
        ):
            raise InvalidInput(
                "a TV service needs a numeric smart_card and an alphanumeric chip_id",
                code="smart_card_invalid",
            )
        if await repo.smart_card_taken(session, card, chip):
            raise IdentifierTaken(f"smart card {card} is already in use", code="smart_card_taken")
        service.smart_card, service.chip_id = card, chip.upper()
        default_label = f"ТВ: карта {card}"
    if spec.tariff_code:
        tariff = await repo.tariff_by_code(session, spec.tariff_code)
        if tariff is None:
            raise TariffNotFound(f"no tariff {spec.tariff_code}")
        if tariff.service_kind != spec.kind:
            raise InvalidInput(
                f"tariff {tariff.code} is for {tariff.service_kind}", code="tariff_kind_mismatch"
            )
        service.tariff_id = tariff.id
    service.label = (spec.label or default_label)[:255]
    session.add(service)
    await session.flush()
    record(
        session,
        actor,
        "service.add",
        object_type="service",
        object_id=service.id,
        account_id=account.id,
        kind=spec.kind,
    )
    return service


def service_kind_label(kind: str) -> str:
    return _SERVICE_LABELS.get(kind, kind)


async def change_service_status(
    session: AsyncSession,
    service: Service,
    status: str,
    *,
    actor: Actor,
    reason: str,
    suspended_reason: str | None = None,
) -> Service:
    if status not in ("active", "suspended", "closed"):
        raise InvalidInput("status must be active, suspended or closed", code="status_invalid")
    if service.status == "closed":
        raise InvalidStatusChange(f"service {service.id} is closed")
    if service.status == status:
        raise InvalidStatusChange(f"service {service.id} is already {status}")
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required", code="reason_required")
    _change_service(session, service, status, reason.strip(), actor)
    service.suspended_reason = (suspended_reason or "staff") if status == "suspended" else None
    if status == "closed":
        service.closed_at = clock.now()
    record(
        session,
        actor,
        f"service.{status}",
        object_type="service",
        object_id=service.id,
        account_id=service.account_id,
        reason=reason,
    )
    await session.flush()
    return service


def _change_service(
    session: AsyncSession, service: Service, status: str, reason: str, actor: Actor
) -> None:
    session.add(
        ServiceStatusChange(
            service_id=service.id,
            account_id=service.account_id,
            from_status=service.status,
            to_status=status,
            reason=reason[:255],
            actor=actor.name,
            at=clock.now(),
        )
    )
    service.status = status


# --- contracts and tariffs --------------------------------------------------------------------


async def add_contract(
    session: AsyncSession, account: Account, number: str, signed_on: dt.date, *, actor: Actor
) -> Contract:
    number = number.strip()
    if not number or len(number) > 64:
        raise InvalidInput("contract number is required (≤ 64)", code="contract_invalid")
    if await repo.contract_taken(session, number):
        raise IdentifierTaken(f"contract {number} exists", code="contract_taken")
    contract = Contract(
        number=number, account_id=account.id, signed_on=signed_on, created_at=clock.now()
    )
    session.add(contract)
    await session.flush()
    record(
        session,
        actor,
        "contract.add",
        object_type="contract",
        object_id=number,
        account_id=account.id,
    )
    return contract


async def ensure_tariff(
    session: AsyncSession, *, code: str, name: str, service_kind: str, monthly_fee_minor: int
) -> Tariff:
    tariff = await repo.tariff_by_code(session, code)
    if tariff is None:
        if service_kind not in SERVICE_KINDS or monthly_fee_minor < 0:
            raise InvalidInput("bad tariff", code="tariff_invalid")
        tariff = Tariff(
            code=code,
            name=name,
            service_kind=service_kind,
            monthly_fee_minor=monthly_fee_minor,
            currency=get_settings().currency,
        )
        session.add(tariff)
        await session.flush()
    return tariff


# --- lookup -----------------------------------------------------------------------------------


async def lookup(
    session: AsyncSession,
    *,
    msisdn: str | None = None,
    contract: str | None = None,
    login: str | None = None,
    smart_card: str | None = None,
    chip_id: str | None = None,
) -> list[str]:
    """Account numbers for a phone, a contract, an internet login or a TV card + chip ID."""
    given = [x for x in (msisdn, contract, login, smart_card or chip_id) if x]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one of msisdn, contract, login, or smart_card with chip_id",
            code="lookup_ambiguous",
        )
    if msisdn:
        return await repo.numbers_by_msisdn(session, normalize_msisdn(msisdn))
    if contract:
        return await repo.numbers_by_contract(session, contract.strip())
    if login:
        return await repo.numbers_by_login(session, login.strip())
    if not (smart_card and chip_id):
        raise InvalidInput(
            "a TV lookup needs both smart_card and chip_id", code="lookup_smart_card_needs_chip"
        )
    return await repo.numbers_by_smart_card(session, smart_card.strip(), chip_id.strip().upper())


async def account_or_none(session: AsyncSession, account_id: int) -> Account | None:
    return await repo.by_id(session, account_id)


def ensure_exists(account: Account | None, label: str) -> Account:
    if account is None:
        raise AccountNotFound(f"no account {label}")
    return account
