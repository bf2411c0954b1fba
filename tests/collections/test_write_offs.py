"""Write-off requests decided by a supervisor alone: the ladder's proposals listed with what they
cover, a rejection with a reason that leaves the ledger alone, an approval that takes the debt
off the statement and leaves the entry in the history; every refusal changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from abonent.collections import service as collections
from abonent.collections import write_offs
from abonent.collections.errors import RoleRefused, WriteOffDecided
from abonent.collections.roles import ROLES
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.kit.errors import AbonentError
from abonent.ledger.chart import BAD_DEBT_LEDGER, SUBSCRIBER_LEDGER
from abonent.ledger.reconcile import reconcile
from abonent.models import Account, AuditEvent, Posting, WriteOffRequest
from abonent.staff.roles import ACTIONS
from abonent.statement import history
from abonent.statement.service import statement_for
from tests.collections.write_off_helpers import ladder_proposals, snapshot
from tests.factories import pay

TODAY = dt.date(2026, 11, 18)
BOSS = Actor("staff:2:boss", "supervisor")
OFFICER = Actor("staff:3:olga", "collections")
ADMIN = Actor("staff:4:root", "admin")
HOTLINE = Actor("staff:5:ivan", "hotline")
CLERK = Actor("staff:6:anna", "clerk")


def test_the_console_and_the_services_share_one_rule_per_action() -> None:
    shared = sorted(set(ROLES) & set(ACTIONS))
    assert {"write_off.read", "write_off.approve", "write_off.reject"} <= set(shared)
    assert {a: ROLES[a] for a in shared} == {a: ACTIONS[a] for a in shared}
    # Issue #12: a supervisor's decision; admin may still ask for one.
    assert ROLES["write_off.approve"] == ROLES["write_off.reject"] == {"supervisor"}
    assert "admin" in ROLES["write_off.request"]
    assert "hotline" not in ROLES["write_off.read"]


async def test_ladder_proposals_listed_one_rejected_one_approved(
    db: Database, clock: FrozenClock
) -> None:
    first, second = await ladder_proposals(db, TODAY)
    async with db.session() as s:
        pending = await write_offs.list_write_offs(s, actor=OFFICER, status="pending")
    assert [(v.request.id, v.status, v.account_number, v.debt_minor) for v in pending] == [
        (first.request_id, "pending", first.number, 45_000),
        (second.request_id, "pending", second.number, 80_000),
    ]
    assert [(i.service_kind, i.amount_minor, i.covered_minor) for i in pending[0].items] == [
        ("mobile", 30_000, 30_000),
        ("mobile", 15_000, 15_000),
    ]
    assert pending[1].covered_minor == 80_000
    assert pending[0].request.requested_by == "system:dunning"

    before = await snapshot(db)
    async with db.session(write=True) as s:
        done = await write_offs.reject_write_off(
            s, first.request_id, reason="Абонент погашает по графику", actor=BOSS
        )
    assert done.status == "rejected"
    after = await snapshot(db)
    # The ledger, the balances and the other request as they were; one audit event more.
    for key in ("balances", "open_items", "entries", "postings", "allocations"):
        assert after[key] == before[key], key
    assert after["audit"] == before["audit"] + 1
    assert after["requests"][0][1:] == ("rejected", None, None, None)
    assert after["requests"][1] == before["requests"][1]
    async with db.session() as s:
        event = await s.scalar(select(AuditEvent).where(AuditEvent.action == "write_off.reject"))
        assert event is not None
        assert (event.actor, event.role, event.reason, event.account_id) == (
            "staff:2:boss",
            "supervisor",
            "Абонент погашает по графику",
            first.account_id,
        )
        assert event.details["covered_minor"] == 45_000
        assert len(event.details["open_item_ids"]) == 2
        rejected = await write_offs.list_write_offs(s, actor=ADMIN, status="rejected")
    assert [(v.request.id, v.decided_by, v.rejection_reason, v.items) for v in rejected] == [
        (first.request_id, "staff:2:boss", "Абонент погашает по графику", [])
    ]
    assert rejected[0].decided_at == clock.at

    async with db.session(write=True) as s:
        approved = await collections.approve_write_off(
            s, second.request_id, actor=BOSS, as_of=TODAY
        )
    assert approved.status == "approved" and approved.entry_id is not None
    async with db.session() as s:
        a = await s.get_one(Account, first.account_id)
        b = await s.get_one(Account, second.account_id)
        # The approved account's statement debt dropped by the amount; the rejected one's stayed.
        assert (await statement_for(s, b)).debt_minor == 80_000 - second.amount_minor == 0
        assert (await statement_for(s, a)).debt_minor == 45_000
        newest = (await history.entries_page(s, b.id, before_id=None, limit=1))[0]
        assert (newest.entry.id, newest.entry.kind) == (approved.entry_id, "write_off")
        assert sorted((p.ledger, p.amount_minor) for p in newest.postings) == [
            (BAD_DEBT_LEDGER, 80_000),
            (SUBSCRIBER_LEDGER, -80_000),
        ]
        assert (await reconcile(s)).clean
        shown = await write_offs.list_write_offs(s, actor=OFFICER, status="approved")
        everything = await write_offs.list_write_offs(s, actor=OFFICER)
        assert await write_offs.list_write_offs(s, actor=OFFICER, status="pending") == []
    assert [(v.request.id, v.decided_by, v.debt_minor, v.covered_minor) for v in shown] == [
        (second.request_id, "staff:2:boss", 0, 80_000)
    ]
    assert [v.request.id for v in everything] == [second.request_id, first.request_id]


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "x" * 501, "причина\x00", "две\nстроки", "\x1b[31mкрасный"],
    ids=["empty", "blank", "oversized", "nul", "newline", "escape"],
)
async def test_a_bad_reason_is_refused_and_changes_nothing(
    db: Database, clock: FrozenClock, reason: str
) -> None:
    first, _ = await ladder_proposals(db, TODAY)
    before = await snapshot(db)
    with pytest.raises(AbonentError) as refused:
        async with db.session(write=True) as s:
            await write_offs.reject_write_off(s, first.request_id, reason=reason, actor=BOSS)
    assert refused.value.code == "write_off_reason_invalid"
    assert await snapshot(db) == before


async def test_wrong_roles_unknown_and_decided_requests_are_refused(
    db: Database, clock: FrozenClock
) -> None:
    first, second = await ladder_proposals(db, TODAY)
    before = await snapshot(db)

    async def refused(work: object) -> str:
        with pytest.raises(AbonentError) as caught:
            async with db.session(write=True) as s:
                await work(s)  # type: ignore[operator]
        return caught.value.code

    for who in (ADMIN, OFFICER, HOTLINE, CLERK):
        assert (
            await refused(
                lambda s, who=who: collections.approve_write_off(
                    s, first.request_id, actor=who, as_of=TODAY
                )
            )
            == "collections_role_refused"
        ), who
        assert (
            await refused(
                lambda s, who=who: write_offs.reject_write_off(
                    s, first.request_id, reason="нет", actor=who
                )
            )
            == "collections_role_refused"
        ), who
    for code, work in [
        (
            "write_off_not_found",
            lambda s: write_offs.reject_write_off(s, 999_999, reason="нет", actor=BOSS),
        ),
        (
            "write_off_not_found",
            lambda s: collections.approve_write_off(s, 999_999, actor=BOSS, as_of=TODAY),
        ),
    ]:
        assert await refused(work) == code
    assert await snapshot(db) == before

    # Decided: a rejected request is neither approved nor rejected again; an approved one is
    # not rejected (approving it again is the same approval, nothing new).
    async with db.session(write=True) as s:
        await write_offs.reject_write_off(s, first.request_id, reason="рассрочка", actor=BOSS)
    async with db.session(write=True) as s:
        await collections.approve_write_off(s, second.request_id, actor=BOSS, as_of=TODAY)
    decided = await snapshot(db)
    assert [r[1] for r in decided["requests"]] == ["rejected", "approved"]
    for work in [
        lambda s: collections.approve_write_off(s, first.request_id, actor=BOSS, as_of=TODAY),
        lambda s: write_offs.reject_write_off(s, first.request_id, reason="ещё раз", actor=BOSS),
        lambda s: write_offs.reject_write_off(s, second.request_id, reason="поздно", actor=BOSS),
    ]:
        assert await refused(work) == "write_off_decided"
    assert await snapshot(db) == decided
    async with db.session(write=True) as s:
        again = await collections.approve_write_off(s, second.request_id, actor=BOSS, as_of=TODAY)
    assert again.status == "approved"
    assert await snapshot(db) == decided


async def test_listing_is_for_collections_supervisors_and_admins(
    db: Database, clock: FrozenClock
) -> None:
    await ladder_proposals(db, TODAY)
    async with db.session() as s:
        for who in (HOTLINE, CLERK):
            with pytest.raises(RoleRefused):
                await write_offs.list_write_offs(s, actor=who)
        for status in ("requested", "bogus", "PENDING"):
            with pytest.raises(AbonentError) as bad:
                await write_offs.list_write_offs(s, actor=BOSS, status=status)
            assert bad.value.code == "write_off_status_invalid"
        for limit in (0, 501, True):
            with pytest.raises(AbonentError) as bad:
                await write_offs.list_write_offs(s, actor=BOSS, limit=limit)
            assert bad.value.code == "write_off_limit_invalid"
        assert len(await write_offs.list_write_offs(s, actor=BOSS, limit=1)) == 1
        with pytest.raises(AbonentError) as missing:
            await write_offs.get_write_off(s, 999_999, actor=BOSS)
        assert missing.value.code == "write_off_not_found"


async def test_a_pending_request_whose_debt_was_paid_lists_nothing_to_cover(
    db: Database, clock: FrozenClock
) -> None:
    first, _ = await ladder_proposals(db, TODAY)
    async with db.session(write=True) as s:
        await pay(s, await s.get_one(Account, first.account_id), 45_000)
    async with db.session() as s:
        (view, _other) = await write_offs.list_write_offs(s, actor=BOSS, status="pending")
    assert (view.request.id, view.items, view.covered_minor, view.debt_minor) == (
        first.request_id,
        [],
        0,
        0,
    )


@pytest.mark.postgres_only
async def test_an_approval_waits_for_a_rejection_in_flight_and_then_refuses(
    db: Database, clock: FrozenClock
) -> None:
    """Without the request's row lock both would pass the status check and a rejected request
    would post its write-off."""
    first, _ = await ladder_proposals(db, TODAY)
    async with db.session(write=True) as rejecting:
        await write_offs.reject_write_off(
            rejecting, first.request_id, reason="рассрочка", actor=BOSS
        )

        async def approve() -> None:
            async with db.session(write=True) as s:
                await collections.approve_write_off(
                    s, first.request_id, actor=Actor("staff:7:vera", "supervisor"), as_of=TODAY
                )

        approving = asyncio.create_task(approve())
        await asyncio.sleep(0.5)
        assert not approving.done()  # it queues behind the rejection's lock
    with pytest.raises(WriteOffDecided):
        await approving
    async with db.session() as s:
        request = await s.get_one(WriteOffRequest, first.request_id)
        assert (request.status, request.entry_id) == ("rejected", None)
        assert await s.scalar(select(Posting.id).where(Posting.ledger == BAD_DEBT_LEDGER)) is None
