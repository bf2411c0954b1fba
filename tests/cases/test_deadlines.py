"""Registration and answer deadlines over the production calendar, the supervisor's list of
claims near or past any deadline, and an open claim's charges left out of dunning."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from abonent.collections import service as collections
from abonent.config import DisputeSettings
from abonent.db.uow import Database
from abonent.disputes import rules
from abonent.disputes import service as disputes
from abonent.disputes.repository import disputed_open_item_ids
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.models import Account, AssignmentItem, OpenItem
from abonent.requests import service as requests
from tests.disputes.helpers import account_with_charges

D = dt.date
S = DisputeSettings()
CLERK = Actor("staff:1:clerk", "clerk")
SUPERVISOR = Actor("staff:2:boss", "supervisor")
COLLECTOR = Actor("staff:3:anna", "collections")


@pytest.mark.parametrize(
    ("received", "registered", "register_by", "due"),
    [
        # Wednesday 30.12.2026 is a working day; 31.12 and 01–10.01.2027 are days off.
        (D(2026, 12, 30), D(2026, 12, 30), D(2027, 1, 11), D(2027, 1, 29)),
        (D(2026, 12, 31), D(2027, 1, 11), D(2027, 1, 11), D(2027, 2, 10)),
        (D(2027, 1, 8), D(2027, 1, 11), D(2027, 1, 11), D(2027, 2, 10)),
        # 2027: Saturday 20.02 is worked in place of Monday 22.02; 23.02 is a holiday.
        (D(2027, 2, 20), D(2027, 2, 20), D(2027, 2, 24), D(2027, 3, 22)),
        (D(2027, 2, 22), D(2027, 2, 24), D(2027, 2, 24), D(2027, 3, 26)),
        # 08.03.2027 is a Monday holiday: Friday's claim may be registered on Tuesday 09.03.
        (D(2027, 3, 5), D(2027, 3, 5), D(2027, 3, 9), D(2027, 4, 5)),
        (D(2027, 3, 8), D(2027, 3, 9), D(2027, 3, 9), D(2027, 4, 8)),
    ],
)
def test_registration_deadline_over_holidays(
    received: dt.date, registered: dt.date, register_by: dt.date, due: dt.date
) -> None:
    assert rules.registration_deadline(received, S) == register_by
    assert rules.registration_date(received, S) == registered
    assert registered <= register_by
    assert rules.answer_due(registered, international=False, settings=S) == due


def test_register_working_days_is_the_setting() -> None:
    two = DisputeSettings(register_working_days=2)
    same_day = DisputeSettings(register_working_days=0)
    assert rules.registration_deadline(D(2026, 12, 30), two) == D(2027, 1, 12)
    assert rules.registration_deadline(D(2026, 12, 30), same_day) == D(2026, 12, 30)
    assert rules.registration_deadline(D(2026, 12, 31), same_day) == D(2027, 1, 11)


def _at(clock: FrozenClock, day: dt.date) -> None:
    clock.at = dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC)


async def _file(db: Database, account: Account, item_id: int, channel: str = "desk") -> int:
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        dispute = await disputes.file_dispute(
            s, fresh, claims={item_id: None}, text="Не пользовался", channel=channel, actor=CLERK
        )
        return dispute.id


async def test_supervisor_list_of_deadlines(db: Database, clock: FrozenClock) -> None:
    account, _old, new = await account_with_charges(db, clock)
    second, _o, second_new = await account_with_charges(db, clock)
    _at(clock, D(2026, 12, 31))  # a day off: registered on 11.01.2027, answer due 10.02.2027
    holiday_claim = await _file(db, account, new.id, channel="cabinet")
    _at(clock, D(2026, 11, 18))
    early_claim = await _file(db, second, second_new.id)  # answer due 18.12.2026
    async with db.session() as s:
        on_31 = await disputes.deadlines(s, today=D(2026, 12, 31))
        assert [(d.dispute.id, d.which, d.due_on, d.days_left) for d in on_31] == [
            (early_claim, "answer", D(2026, 12, 18), -13),
        ]
        # Within the 5 days before 11.01 the holiday claim's registration shows up.
        on_7 = await disputes.deadlines(s, today=D(2027, 1, 7))
        assert [(d.dispute.id, d.which, d.due_on, d.days_left) for d in on_7] == [
            (early_claim, "answer", D(2026, 12, 18), -20),
            (holiday_claim, "registration", D(2027, 1, 11), 4),
        ]
        on_feb = await disputes.deadlines(s, today=D(2027, 2, 6))
        assert [(d.dispute.id, d.which, d.days_left) for d in on_feb] == [
            (early_claim, "answer", -50),
            (holiday_claim, "answer", 4),
        ]
        assert [d.id for d in await disputes.nearing_deadline(s, today=D(2027, 2, 6))] == [
            early_claim,
            holiday_claim,
        ]
    async with db.session(write=True) as s:
        await disputes.resolve(
            s, early_claim, outcome="reject", reason="Услуга оказана", actor=SUPERVISOR
        )
    async with db.session() as s:
        assert [d.dispute.id for d in await disputes.deadlines(s, today=D(2027, 2, 6))] == [
            holiday_claim
        ]


async def test_requests_nearing_their_due_date(db: Database, clock: FrozenClock) -> None:
    account, _old, _new = await account_with_charges(db, clock)
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        debt = await requests.file_request(
            s, fresh, kind="debt_details", text="Справка", channel="desk", actor=CLERK
        )
        docs = await requests.file_request(
            s, fresh, kind="documents", text="Копия договора", channel="desk", actor=CLERK
        )
    async with db.session() as s:
        assert [r.id for r in await requests.nearing_deadline(s, today=D(2026, 11, 22))] == []
        assert [r.id for r in await requests.nearing_deadline(s, today=D(2026, 11, 23))] == [
            debt.id
        ]
        assert [r.id for r in await requests.nearing_deadline(s, today=D(2026, 12, 20))] == [
            debt.id,
            docs.id,
        ]


async def test_open_claim_is_left_out_of_dunning(db: Database, clock: FrozenClock) -> None:
    """Both charges are overdue on 18.11.2026; the one under an open claim is flagged (the flag
    notices' past-due check reads), named by ``disputed_open_item_ids`` and not handed to a
    collection agency; once the claim is rejected it is handed over."""
    account, old, new = await account_with_charges(db, clock)
    claim = await _file(db, account, new.id)
    async with db.session(write=True) as s:
        assert await disputed_open_item_ids(s, [account.id]) == {new.id}
        flagged = await s.get_one(OpenItem, new.id)
        assert flagged.disputed is True
        agency = await collections.add_agency(
            s, name="ООО «Возврат»", inn="7707083893", commission_bp=1_500, actor=COLLECTOR
        )
        fresh = await s.get_one(Account, account.id)
        first = await collections.handover(
            s, fresh, agency.id, actor=COLLECTOR, as_of=D(2026, 11, 18)
        )
        assert [i.open_item_id for i in first.items] == [old.id]
        assert first.assignment.amount_minor == 30_000
    async with db.session(write=True) as s:
        await disputes.resolve(
            s, claim, outcome="reject", reason="Услуга оказана", actor=SUPERVISOR
        )
    async with db.session(write=True) as s:
        assert await disputed_open_item_ids(s, [account.id]) == set()
        fresh = await s.get_one(Account, account.id)
        again = await collections.handover(
            s, fresh, agency.id, actor=COLLECTOR, as_of=D(2026, 11, 18)
        )
        assert again.created and [i.open_item_id for i in again.items] == [new.id]
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(AssignmentItem)) == 2
