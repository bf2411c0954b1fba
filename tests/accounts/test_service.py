from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select

from abonent.accounts import service as accounts
from abonent.accounts.errors import AccountClosed, AccountNotFound, IdentifierTaken
from abonent.db.uow import Database
from abonent.kit.errors import InvalidInput
from abonent.kit.numbers import generate_account_number, luhn_valid
from abonent.models import AuditEvent, Customer, Service
from abonent.payments.service import PaymentRequest, book_payment
from abonent.statement.service import statement_for
from tests.factories import ACTOR, charge, make_account


async def test_passport_is_encrypted_found_by_hash_and_reveal_is_audited(db: Database) -> None:
    async with db.session(write=True) as s:
        customer = await accounts.create_customer(
            s,
            kind="person",
            full_name="  Петрова   Анна Сергеевна ",
            passport="45 10 123456",
            actor=ACTOR,
        )
    async with db.session() as s:
        stored = await s.get(Customer, customer.id)
        assert stored is not None
        assert stored.full_name == "Петрова Анна Сергеевна"
        assert stored.passport_masked == "45** ***456"
        assert stored.passport_enc is not None and b"123456" not in stored.passport_enc
        found = await accounts.customers_by_passport(s, "4510-123456")
        assert [c.id for c in found] == [customer.id]
    async with db.session(write=True) as s:
        stored = await s.get(Customer, customer.id)
        assert stored is not None
        with pytest.raises(InvalidInput):
            accounts.reveal_passport(s, stored, actor=ACTOR, reason=" ")
        assert accounts.reveal_passport(s, stored, actor=ACTOR, reason="clerk check") == (
            "4510123456"
        )
    async with db.session() as s:
        reveal = await s.scalar(
            select(AuditEvent).where(AuditEvent.action == "customer.passport_reveal")
        )
        assert reveal is not None and reveal.reason == "clerk check"


async def test_account_numbers_are_luhn_and_lookups_work(db: Database) -> None:
    async with db.session(write=True) as s:
        account, (sim, line, tv) = await make_account(s, kinds=("mobile", "internet", "tv"))
        await accounts.add_contract(s, account, "Д-2026/001", dt.date(2026, 1, 10), actor=ACTOR)
    assert luhn_valid(account.number) and len(account.number) == 12
    async with db.session() as s:
        assert await accounts.lookup(s, msisdn="8" + sim.msisdn[2:]) == [account.number]
        assert await accounts.lookup(s, contract="Д-2026/001") == [account.number]
        assert await accounts.lookup(s, login=line.login) == [account.number]
        assert await accounts.lookup(s, smart_card=tv.smart_card, chip_id=tv.chip_id.lower()) == [
            account.number
        ]
        assert await accounts.lookup(s, msisdn="+79990000000") == []
        with pytest.raises(InvalidInput) as err:
            await accounts.lookup(s, smart_card=tv.smart_card)
        assert err.value.code == "lookup_smart_card_needs_chip"
        with pytest.raises(InvalidInput):
            await accounts.lookup(s, msisdn=sim.msisdn, contract="x")
        unknown = generate_account_number(random.Random(424242))
        assert unknown != account.number
        with pytest.raises(AccountNotFound):
            await accounts.get_account(s, unknown)


async def test_identifiers_are_unique_and_refusal_adds_nothing(db: Database) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
    for spec in (
        accounts.ServiceSpec(kind="mobile", msisdn=sim.msisdn),
        accounts.ServiceSpec(kind="mobile", msisdn="12"),
        accounts.ServiceSpec(kind="tv", smart_card="abc", chip_id="x"),
        accounts.ServiceSpec(kind="internet", login="has space"),
        accounts.ServiceSpec(kind="radio"),
    ):
        with pytest.raises((IdentifierTaken, InvalidInput)):
            async with db.session(write=True) as s:
                await accounts.add_service(s, account, spec, actor=ACTOR)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Service)) == 1


async def test_closed_account_keeps_its_debt_and_can_be_paid(db: Database, clock) -> None:
    async with db.session(write=True) as s:
        account, (sim,) = await make_account(s)
        await charge(s, account, 99_900, due=dt.date(2026, 8, 1), service=sim)
        await accounts.change_account_status(
            s, account, "closed", actor=ACTOR, reason="contract ended"
        )
    async with db.session() as s:
        st = await statement_for(s, account)
        assert (st.status, st.debt_minor, st.overdue_minor) == ("closed", 99_900, 99_900)
        assert st.ageing.days_90_plus == 99_900
        services = list(await s.scalars(select(Service.status)))
        assert services == ["closed"]
    async with db.session(write=True) as s:
        with pytest.raises(AccountClosed):
            await accounts.change_account_status(s, account, "active", actor=ACTOR, reason="x")
        with pytest.raises(AccountClosed):
            await accounts.add_service(
                s, account, accounts.ServiceSpec(kind="internet", login="late"), actor=ACTOR
            )
    await db.run(
        lambda s: book_payment(
            s,
            PaymentRequest(
                account=account,
                amount_minor=99_900,
                method="office",
                source="office",
                source_txn_id="desk-1",
                actor=ACTOR,
            ),
        )
    )
    async with db.session() as s:
        st = await statement_for(s, account)
        assert (st.balance_minor, st.debt_minor) == (0, 0)
