"""Finding a person, the identity check, the person view, reveals, the person's audit.

Before a passed check an employee sees only what picks the right person (masked). A match opens
that person to that employee for ``staff.person_access_minutes``; every check, view and reveal
is an audit event on the person (object_type 'person'), never with the typed passport.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts import reads
from abonent.accounts import service as accounts
from abonent.audit import service as audit
from abonent.config import get_settings
from abonent.kit import clock
from abonent.kit.errors import Forbidden, InvalidInput, NotFound
from abonent.kit.numbers import normalize_msisdn
from abonent.kit.pii import normalize_passport
from abonent.models import Account, Customer, PersonAccess, Service
from abonent.outbox import service as outbox
from abonent.payments import sources
from abonent.payments.service import Booked, PaymentRequest, book_payment
from abonent.people import repository as repo
from abonent.people.masking import mask_msisdn, mask_name
from abonent.people.schemas import (
    AccountView,
    AuditLine,
    CheckResult,
    PersonHit,
    PersonView,
    ServiceView,
)
from abonent.promised import service as promised
from abonent.promised.schemas import PromisedOut
from abonent.sms import templates
from abonent.staff.principal import StaffPrincipal
from abonent.staff.roles import MASKED_ROLES, check
from abonent.statement import debt_pdf
from abonent.statement import service as statements

DOCUMENT_TYPES = ("passport_ru",)
CHANNELS = ("desk", "phone")


async def find(
    session: AsyncSession,
    principal: StaffPrincipal,
    *,
    passport: str | None = None,
    msisdn: str | None = None,
    account: str | None = None,
    contract: str | None = None,
    smart_card: str | None = None,
    chip_id: str | None = None,
    surname: str | None = None,
    birth_date: dt.date | None = None,
) -> list[PersonHit]:
    check(principal.role, "people.find")
    by_name = bool(surname or birth_date)
    given = [passport, msisdn, account, contract, smart_card or chip_id, by_name or None]
    if sum(1 for g in given if g) != 1:
        raise InvalidInput(
            "give exactly one of passport, msisdn, account, contract, smart_card with chip_id, "
            "or surname with birth_date",
            code="people.search_ambiguous",
        )
    found: Sequence[Customer]
    if passport:
        kind = "passport"
        found = await accounts.customers_by_passport(session, passport)
    elif by_name:
        kind = "surname"
        if not (surname and surname.strip() and birth_date):
            raise InvalidInput(
                "a search by name needs both surname and birth_date", code="people.search_by_name"
            )
        found = await repo.by_surname_and_birth(session, surname.strip(), birth_date)
    elif account:
        kind = "account"
        number = accounts.parse_number(account)
        found = await repo.owners_of_numbers(session, [number])
    else:
        kind = "msisdn" if msisdn else "contract" if contract else "smart_card"
        if msisdn:
            msisdn = normalize_msisdn(msisdn)
        numbers = await accounts.lookup(
            session, msisdn=msisdn, contract=contract, smart_card=smart_card, chip_id=chip_id
        )
        found = await repo.owners_of_numbers(session, numbers)
    counts = await repo.account_counts(session, [c.id for c in found])
    # Who searched, how, how many came back: never the value searched for.
    audit.record(
        session,
        principal.actor(),
        "people.search",
        object_type="people",
        object_id="search",
        by=kind,
        found=len(found),
    )
    return [
        PersonHit(
            id=c.id,
            name=mask_name(c.full_name),
            birth_year=c.birth_date.year if c.birth_date else None,
            passport=c.passport_masked,
            accounts=counts.get(c.id, 0),
        )
        for c in found
    ]


async def person(session: AsyncSession, customer_id: int) -> Customer:
    """The customer ``customer_id`` (no data shown: callers check access themselves)."""
    return await _person(session, customer_id)


async def _person(session: AsyncSession, customer_id: int) -> Customer:
    try:
        return await accounts.get_customer(session, customer_id)
    except NotFound:
        raise NotFound(f"no person {customer_id}", code="people.not_found") from None


async def identity_check(
    session: AsyncSession,
    principal: StaffPrincipal,
    customer_id: int,
    *,
    document_type: str,
    series_number: str,
    purpose: str,
    channel: str,
) -> CheckResult:
    check(principal.role, "people.check")
    if document_type not in DOCUMENT_TYPES:
        raise InvalidInput(
            f"document_type must be one of {', '.join(DOCUMENT_TYPES)}",
            code="people.document_type",
        )
    if channel not in CHANNELS:
        raise InvalidInput("channel must be desk or phone", code="people.channel")
    why = (purpose or "").strip()
    if not why or len(why) > 255:
        raise InvalidInput("purpose: 1-255 characters", code="people.purpose_required")
    typed = normalize_passport(series_number)
    customer = await _person(session, customer_id)
    matched = customer.passport_hash is not None and (
        accounts.pii().lookup_hash(typed) == customer.passport_hash
    )
    now = clock.now()
    until = now + dt.timedelta(minutes=get_settings().staff.person_access_minutes)
    audit.record(
        session,
        principal.actor(),
        "people.identity_check",
        object_type="person",
        object_id=customer.id,
        reason=why,
        channel=channel,
        document_type=document_type,
        result="match" if matched else "no_match",
    )
    if not matched:
        return CheckResult(result="no_match")
    session.add(
        PersonAccess(
            staff_id=principal.staff_id,
            customer_id=customer.id,
            channel=channel,
            purpose=why,
            granted_at=now,
            expires_at=until,
        )
    )
    await session.flush()
    return CheckResult(result="match", access_until=until)


async def require_access(
    session: AsyncSession, principal: StaffPrincipal, customer_id: int
) -> tuple[Customer, PersonAccess]:
    """The person, if this employee passed a check on them that has not expired."""
    customer = await _person(session, customer_id)
    grant = await repo.live_access(session, principal.staff_id, customer.id, clock.now())
    if grant is None:
        raise Forbidden("pass an identity check on this person first", code="people.check_required")
    return customer, grant


def _identifier(service: Service, masked: bool) -> str | None:
    if service.msisdn:
        return mask_msisdn(service.msisdn) if masked else service.msisdn
    if service.login:
        # Subscribers pick logins from their names and birth years ("petrov80"): the first two
        # letters are enough to match what the caller says.
        return f"{service.login[:2]}***" if masked else service.login
    if service.smart_card:
        return f"***{service.smart_card[-4:]}" if masked else service.smart_card
    return None


def _label(service: Service, masked: bool) -> str:
    # A label names the SIM's number, the line's login or the TV card in full (accounts'
    # default labels do): masked like the identifier.
    if masked and (service.msisdn or service.login or service.smart_card):
        return f"{accounts.service_kind_label(service.kind)}: {_identifier(service, True)}"
    return service.label


async def view(session: AsyncSession, principal: StaffPrincipal, customer_id: int) -> PersonView:
    check(principal.role, "people.view")
    customer, grant = await require_access(session, principal, customer_id)
    masked = principal.role in MASKED_ROLES
    out: list[AccountView] = []
    for account in await reads.accounts_of(session, customer.id):
        services = await reads.services_of(session, account.id)
        statement = await statements.statement_for(session, account)
        labels = {s.id: _label(s, masked) for s in services}
        if masked:
            # A label names the SIM's number or the TV card in full: masked like the identifier.
            statement = statement.model_copy(
                update={
                    "debt_by_service": [
                        d.model_copy(update={"label": labels.get(d.service_id, d.label)})
                        if d.service_id is not None
                        else d
                        for d in statement.debt_by_service
                    ]
                }
            )
        out.append(
            AccountView(
                number=account.number,
                status=account.status,
                statement=statement,
                services=[
                    ServiceView(
                        id=s.id,
                        kind=s.kind,
                        label=labels[s.id],
                        identifier=_identifier(s, masked),
                        status=s.status,
                        suspended_reason=s.suspended_reason,
                    )
                    for s in services
                ],
                suspended_services=[s.id for s in services if s.status == "suspended"],
                history=f"/v1/accounts/{account.number}/entries",
                open_items=f"/v1/accounts/{account.number}/open-items",
            )
        )
    audit.record(
        session,
        principal.actor(),
        "people.view",
        object_type="person",
        object_id=customer.id,
        masked=masked,
    )
    birth = customer.birth_date
    phone = customer.contact_phone
    return PersonView(
        id=customer.id,
        name=mask_name(customer.full_name) if masked else customer.full_name,
        birth_date=(str(birth.year) if masked else f"{birth:%d.%m.%Y}") if birth else None,
        passport=customer.passport_masked,
        contact_phone=(mask_msisdn(phone) if masked else phone) if phone else None,
        masked=masked,
        access_until=grant.expires_at,
        accounts=out,
    )


async def reveal(
    session: AsyncSession, principal: StaffPrincipal, customer_id: int, *, reason: str
) -> str | None:
    """The full passport (a separate, audited action with a reason)."""
    check(principal.role, "people.reveal")
    customer, _grant = await require_access(session, principal, customer_id)
    why = (reason or "").strip()
    if not why or len(why) > 512:
        raise InvalidInput("a reason (1-512 characters) is required", code="reason_required")
    if customer.passport_enc is None:
        return None
    audit.record(
        session,
        principal.actor(),
        "people.passport_reveal",
        object_type="person",
        object_id=customer.id,
        reason=why,
    )
    passport = accounts.pii().decrypt(customer.passport_enc)
    return f"{passport[:4]} {passport[4:]}"


async def audit_trail(
    session: AsyncSession, principal: StaffPrincipal, customer_id: int
) -> list[AuditLine]:
    check(principal.role, "people.audit")
    customer = await _person(session, customer_id)
    return [
        AuditLine(
            at=e.at,
            actor=e.actor,
            role=e.role,
            action=e.action,
            reason=e.reason,
            details=dict(e.details or {}),
        )
        for e in await repo.audit_of(session, customer.id)
    ]


async def statement_of_debt(
    session: AsyncSession, principal: StaffPrincipal, customer_id: int
) -> bytes:
    check(principal.role, "people.statement_pdf")
    customer, _grant = await require_access(session, principal, customer_id)
    audit.record(
        session,
        principal.actor(),
        "people.statement_of_debt",
        object_type="person",
        object_id=customer.id,
    )
    return await debt_pdf.build(session, customer, name=customer.full_name)


async def send_details(
    session: AsyncSession, principal: StaffPrincipal, customer_id: int, account_number: str
) -> str:
    """The account's details by SMS to the number on file (never to a number typed now)."""
    check(principal.role, "people.sms")
    customer, _grant = await require_access(session, principal, customer_id)
    account = await accounts.get_account(session, account_number)
    if account.customer_id != customer.id:
        raise NotFound("no such account of this person", code="people.account_not_theirs")
    if not customer.contact_phone:
        raise InvalidInput("no phone number on file", code="people.no_phone")
    statement = await statements.statement_for(session, account)
    settings = get_settings()
    sms = templates.account_details(
        account_number=account.number,
        debt_minor=statement.debt_minor,
        debt_by_service=[(s.label, s.debt_minor) for s in statement.debt_by_service],
        due_date=statement.next_due_date,
        overdue_minor=statement.overdue_minor,
        available_minor=statement.available_minor,
        hotline=settings.hotline,
        currency=statement.currency,
    )
    await outbox.enqueue(
        session,
        outbox.SMS_SEND,
        {
            "to": customer.contact_phone,
            "text": sms.text,
            "kind": "staff_details",
            "category": sms.category,
        },
        account_id=account.id,
    )
    audit.record(
        session,
        principal.actor(),
        "people.sms_details",
        object_type="person",
        object_id=customer.id,
        account_id=account.id,
    )
    return mask_msisdn(customer.contact_phone)


async def _their_account(
    session: AsyncSession, principal: StaffPrincipal, customer_id: int, account_number: str
) -> Account:
    customer, _grant = await require_access(session, principal, customer_id)
    account = await accounts.get_account(session, account_number)
    if account.customer_id != customer.id:
        raise NotFound("no such account of this person", code="people.account_not_theirs")
    return account


async def take_payment(
    session: AsyncSession,
    principal: StaffPrincipal,
    customer_id: int,
    *,
    account_number: str,
    amount_minor: int,
    receipt: str,
) -> Booked:
    """Cash or card at the desk, booked through the payments service (office source)."""
    check(principal.role, "people.payment")
    account = await _their_account(session, principal, customer_id, account_number)
    booked = await book_payment(
        session,
        PaymentRequest(
            account=account,
            amount_minor=amount_minor,
            method="office",
            source=sources.OFFICE,
            # One receipt namespace per employee: two clerks' form keys never collide.
            source_txn_id=f"staff{principal.staff_id}:{receipt}"[:128],
            actor=principal.actor(),
        ),
    )
    audit.record(
        session,
        principal.actor(),
        "people.payment",
        object_type="person",
        object_id=customer_id,
        account_id=account.id,
        payment_id=booked.payment.id,
        amount_minor=amount_minor,
    )
    return booked


async def take_promised(
    session: AsyncSession,
    principal: StaffPrincipal,
    customer_id: int,
    *,
    account_number: str,
    amount_minor: int,
) -> PromisedOut:
    check(principal.role, "people.promised")
    account = await _their_account(session, principal, customer_id, account_number)
    taken = await promised.take(
        session, account, amount_minor, channel="api", actor=principal.actor()
    )
    audit.record(
        session,
        principal.actor(),
        "people.promised",
        object_type="person",
        object_id=customer_id,
        account_id=account.id,
        amount_minor=amount_minor,
    )
    return await promised.out(session, taken.promised, account.number)
