"""The ladder's debt notices: one per account, step and run, whatever the number of charges,
through the worker and the contact gate to one SMS naming the services and the amount."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from abonent.channels.sms.gateway import MemorySmsGateway
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.kit.money import format_money
from abonent.models import Account, ContactMessage, OutboxMessage
from abonent.outbox import service as outbox
from abonent.worker.relay import Relay, default_handlers
from tests.dunning.helpers import DUE, debtor, load, notices, progress, run
from tests.factories import charge
from tests.notices.helpers import count, sms_texts

D = dt.date
DAY = dt.timedelta(days=1)
KINDS = ("mobile", "internet", "tv")


async def _drain(db: Database) -> None:
    settings = get_settings()
    relay = Relay(db, settings, default_handlers(settings, MemorySmsGateway(), db))
    await relay.drain()  # dunning.notice → the gate → sms.send
    await relay.drain()  # the SMS itself


async def _contact_keys(db: Database) -> list[str]:
    async with db.session() as s:
        return list(await s.scalars(select(ContactMessage.key).order_by(ContactMessage.id)))


async def test_eighteen_charges_make_one_notice_per_step_and_night(
    db: Database, clock: FrozenClock
) -> None:
    """The audit's case: 18 overdue charges on three services were 18 identical SMS in one
    night. Now: one notice per step and run, covering every item due for it."""
    await load(db)
    amounts = [10_000 + 1_000 * n for n in range(18)]
    account, services, items = await debtor(
        db, kinds=KINDS, charges=[(n % 3, amount, DUE) for n, amount in enumerate(amounts)]
    )
    total = sum(amounts)  # 3 330,00 ₽

    first = await run(db, DUE + DAY)  # notice_1 for all 18 (the reminder superseded)
    assert first.steps == {("notice_1", "notified"): 18, ("remind", "superseded"): 18}
    sent = await notices(db)
    assert sent == [
        (
            f"dunning.notice:{account.id}:notice_1:2026-11-11",
            {
                "step": "notice_1",
                "action": "notice_1",
                "open_item_ids": sorted(items),
                "service_ids": sorted(s.id for s in services),
                "amount_minor": total,
                "due_date": "2026-11-10",
                "run_date": "2026-11-11",
            },
        )
    ]
    await _drain(db)
    [text] = await sms_texts(db)
    assert format_money(total) in text
    assert "Услуги: интернет, мобильная связь, ТВ." in text
    assert await _contact_keys(db) == [f"debt_notice:{account.id}:notice_1:2026-11-11"]

    # The same night again: nothing is due, nothing is queued, nothing is sent.
    again = await run(db, DUE + DAY)
    assert again.done == 0
    await _drain(db)
    assert len(await notices(db)) == 1 and len(await sms_texts(db)) == 1

    # The next step is a notice of its own, once.
    second = await run(db, DUE + 10 * DAY)
    assert second.steps == {("notice_2", "notified"): 18}
    assert (await run(db, DUE + 10 * DAY)).done == 0
    await _drain(db)
    keys = [k for k, _ in await notices(db)]
    assert keys == [
        f"dunning.notice:{account.id}:notice_1:2026-11-11",
        f"dunning.notice:{account.id}:notice_2:2026-11-20",
    ]
    texts = await sms_texts(db)
    assert len(texts) == 2 and format_money(total) in texts[1]
    assert len([r for r in await progress(db) if r[1] == "notice_2"]) == 18


async def test_steps_due_together_are_one_notice_each(db: Database, clock: FrozenClock) -> None:
    """Items at different steps in one run: a notice per step, each naming its own items."""
    await load(db)
    account, services, (late, early, also_late) = await debtor(
        db,
        kinds=("mobile", "internet"),
        charges=((0, 20_000, DUE - 9 * DAY), (1, 30_000, DUE), (1, 5_000, DUE - 9 * DAY)),
    )
    await run(db, DUE + DAY)  # due 01.11 → notice_2 (day 10); due 10.11 → notice_1 (day 1)
    payloads = {k: p for k, p in await notices(db)}
    assert set(payloads) == {
        f"dunning.notice:{account.id}:notice_1:2026-11-11",
        f"dunning.notice:{account.id}:notice_2:2026-11-11",
    }
    first = payloads[f"dunning.notice:{account.id}:notice_1:2026-11-11"]
    second = payloads[f"dunning.notice:{account.id}:notice_2:2026-11-11"]
    assert (first["open_item_ids"], first["service_ids"], first["amount_minor"]) == (
        [early],
        [services[1].id],
        30_000,
    )
    assert (second["open_item_ids"], second["service_ids"], second["amount_minor"]) == (
        sorted([late, also_late]),
        sorted(s.id for s in services),
        25_000,
    )
    assert second["due_date"] == "2026-11-01"


async def test_an_item_reaching_a_step_done_tonight_is_covered_not_sent_again(
    db: Database, clock: FrozenClock
) -> None:
    """A charge imported late, due like the others, after the night's run: a rerun of that
    night records its step, and the notice already queued for the night covers it (its key is
    taken: the insert is not tried, the run does not fail). A step reached on a later night is
    a new notice for the new debt."""
    await load(db)
    account, services, (first,) = await debtor(db)
    await run(db, DUE + DAY)
    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        late = await charge(s, fresh, 7_000, due=DUE, service=services[0])
        assert late.item is not None
    rerun = await run(db, DUE + DAY)
    assert rerun.steps == {("notice_1", "notified"): 1, ("remind", "superseded"): 1}
    assert [k for k, _ in await notices(db)] == [f"dunning.notice:{account.id}:notice_1:2026-11-11"]
    assert {(i, s) for i, s, o, _ in await progress(db) if o == "notified"} == {
        (first, "notice_1"),
        (late.item.id, "notice_1"),
    }

    async with db.session(write=True) as s:
        fresh = await s.get_one(Account, account.id)
        newer = await charge(s, fresh, 4_000, due=DUE + DAY, service=services[0])
        assert newer.item is not None
    await run(db, DUE + 2 * DAY)
    sent = await notices(db)
    assert [k for k, _ in sent] == [
        f"dunning.notice:{account.id}:notice_1:2026-11-11",
        f"dunning.notice:{account.id}:notice_1:2026-11-12",
    ]
    assert sent[1][1]["open_item_ids"] == [newer.item.id]
    assert sent[1][1]["amount_minor"] == 4_000


async def test_a_message_queued_per_item_before_still_goes_once(
    db: Database, clock: FrozenClock
) -> None:
    """A ``dunning.notice`` queued before the notices were per account (its payload names one
    open item) may still wait in the outbox: it goes through the gate under its old key."""
    account, _services, (item,) = await debtor(db)
    old: dict[str, Any] = {
        "open_item_id": item,
        "service_id": None,
        "step": "notice_1",
        "action": "notice_1",
        "amount_minor": 50_000,
        "due_date": "2026-11-10",
        "run_date": "2026-11-11",
    }
    async with db.session(write=True) as s:
        await outbox.enqueue(
            s,
            "dunning.notice",
            old,
            account_id=account.id,
            dedupe_key=f"dunning.notice:{item}:notice_1",
        )
    await _drain(db)
    await _drain(db)
    assert await _contact_keys(db) == [f"debt_notice:{account.id}:notice_1:{item}"]
    assert len(await sms_texts(db)) == 1
    assert await count(db, OutboxMessage, OutboxMessage.topic == "dunning.notice") == 1
