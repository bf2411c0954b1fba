"""The dunning ladder: load and show versions, and the nightly run (docs/dunning.md).

The run walks the accounts in ranges of ids, one unit of work per range, each committed on its
own (two at a time on PostgreSQL, over disjoint ranges): killed at any moment, what committed
stays done and the rest is done by the next run.
Each (open item, step) happens once: the progress row and the step's effects (the notice in the
outbox, the suspension, the hand-over) are written in the same unit, and a unique key on
(open item, step) refuses a second row. An item keeps the ladder version it started on.
A range holds whole accounts, so the items of one account are decided together: one notice
per account and step covers them all, and an item's court and write-off steps see whether its
hand-over is done (before, or earlier in the same unit); until it is, they wait.

Stoppers, read afresh in each unit: a paid item is no longer open; an item under an open
dispute (``disputes.repository.disputed_open_item_ids``, and the item's ``disputed`` flag);
every item of an account whose promised payment is in force and its term not over.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record, record_many
from abonent.collections import service as collections
from abonent.collections.errors import NothingToHandOver
from abonent.db.uow import Database
from abonent.disputes.repository import disputed_open_item_ids_between
from abonent.dunning import repository
from abonent.dunning.errors import LadderNotFound, NoLadder
from abonent.dunning.ladder import NOTICE_ACTIONS, LadderSpec, StepRow
from abonent.dunning.notify import DEFAULT_NOTIFIER, DebtNotice, Notifier
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import InvalidInput
from abonent.models import DunningLadder
from abonent.outbox import service as outbox

log = structlog.get_logger(__name__)

DUNNING_ACTOR = Actor("system:dunning", "collections")
"""Who the nightly run acts as: the collections role may hand over and propose a write-off."""
DEFAULT_BATCH_ACCOUNTS = 20_000
DEFAULT_WORKERS = 2
"""Units of work at a time on PostgreSQL. Two on this 2-core machine: each batch alternates
between Python (planning, encoding) and the database (writing), so a second one fills the
gaps; a third was slower (docs/dunning.md). SQLite has one writer: one at a time there."""
SUSPEND_REASON = "Задолженность по услуге (лестница взыскания)"
WRITE_OFF_REASON = "Предложено лестницей взыскания: долг не погашен"
ProgressFn = Callable[[str, int, int | None], None]


# --- ladder versions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LadderView:
    ladder: DunningLadder
    rows: list[StepRow]


async def load_ladder(
    session: AsyncSession, spec: LadderSpec, *, source: str, actor: Actor
) -> DunningLadder:
    """Store a checked ladder as a new version: new items start on it, items already on the
    ladder keep theirs."""
    ladder = await repository.add_ladder(
        session,
        name=spec.name,
        source=source,
        actor=actor.name,
        at=clock.now(),
        rows=[
            {
                "name": r.name,
                "action": r.action,
                "offset_days": r.offset_days,
                "service_kind": r.service_kind,
                "agency_inn": r.agency_inn,
            }
            for r in spec.rows
        ],
    )
    record(
        session,
        actor,
        "dunning.ladder_load",
        object_type="dunning_ladder",
        object_id=ladder.id,
        source=source[:255],
        steps=len(spec.rows),
    )
    log.info("dunning.ladder_loaded", version=ladder.id, steps=len(spec.rows))
    return ladder


async def show_ladder(session: AsyncSession, version: int | None = None) -> LadderView:
    if version is None:
        ladder = await repository.latest_ladder(session)
        if ladder is None:
            raise NoLadder("no dunning ladder is loaded")
    else:
        ladder = await repository.get_ladder(session, version)
        if ladder is None:
            raise LadderNotFound(f"no ladder version {version}")
    return LadderView(ladder, [_row(s) for s in await repository.steps_of(session, [ladder.id])])


def _row(step: Any) -> StepRow:
    return StepRow(step.name, step.action, step.offset_days, step.service_kind, step.agency_inn)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Ladders:
    """Every version's steps: (name, kind) → row, and the names in the ladder's order."""

    current: int
    table: dict[int, dict[tuple[str, str | None], StepRow]]
    names: dict[int, list[str]]

    memo: dict[tuple[int, str | None, dt.date, dt.date], list[StepRow]] = field(
        default_factory=dict
    )
    """:meth:`due` by its arguments: a night's debtors share a handful of due dates."""
    hand_over_memo: dict[tuple[int, str | None], tuple[str, ...]] = field(default_factory=dict)

    def due(
        self, ladder_id: int, kind: str | None, due_date: dt.date, on: dt.date
    ) -> list[StepRow]:
        """The steps due by ``on`` for an item of that kind and due date, in ladder order.
        The list is shared: read it, do not change it."""
        key = (ladder_id, kind, due_date, on)
        found = self.memo.get(key)
        if found is None:
            table = self.table[ladder_id]
            found = []
            for name in self.names[ladder_id]:
                row = table.get((name, kind)) or table.get((name, None))
                if row is not None and due_date + dt.timedelta(days=row.offset_days) <= on:
                    found.append(row)
            self.memo[key] = found
        return found

    def hand_over_steps(self, ladder_id: int, kind: str | None) -> tuple[str, ...]:
        """The names of the hand-over steps an item of that kind has on that version: its
        court and write-off steps wait until these are done."""
        key = (ladder_id, kind)
        found = self.hand_over_memo.get(key)
        if found is None:
            table = self.table[ladder_id]
            found = tuple(
                name
                for name in self.names[ladder_id]
                if (row := table.get((name, kind)) or table.get((name, None))) is not None
                and row.action == "hand_over"
            )
            self.hand_over_memo[key] = found
        return found

    @property
    def earliest(self) -> int:
        return min(r.offset_days for t in self.table.values() for r in t.values())


async def _ladders(session: AsyncSession) -> Ladders:
    ids = await repository.all_ladder_ids(session)
    if not ids:
        raise NoLadder("no dunning ladder is loaded: abonent dunning ladder load FILE")
    table: dict[int, dict[tuple[str, str | None], StepRow]] = {i: {} for i in ids}
    names: dict[int, list[str]] = {i: [] for i in ids}
    for step in await repository.steps_of(session, ids):
        table[step.ladder_id][(step.name, step.service_kind)] = _row(step)
        if step.name not in names[step.ladder_id]:
            names[step.ladder_id].append(step.name)
    return Ladders(current=ids[-1], table=table, names=names)


@dataclass
class RunSummary:
    run_date: dt.date
    ladder_version: int = 0
    batches: int = 0
    items_seen: int = 0
    steps: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(step, outcome) → how many (open item, step) were done by this run."""
    stopped: Counter[str] = field(default_factory=Counter)
    """'dispute', 'promised' → items whose due steps were held back."""
    waiting_for_agency: int = 0
    """Hand-over steps due with no collection agency to take them: done by a later run."""
    waiting_for_hand_over: int = 0
    """Court and write-off steps due for items whose hand-over is not done yet (no agency, or
    its day not come): done by a later run, after the hand-over."""
    seconds: float = 0.0

    def add(self, other: BatchResult) -> None:
        self.batches += 1
        self.items_seen += other.items_seen
        self.steps.update(other.steps)
        self.stopped.update(other.stopped)
        self.waiting_for_agency += other.waiting_for_agency
        self.waiting_for_hand_over += other.waiting_for_hand_over

    @property
    def done(self) -> int:
        return sum(self.steps.values())


@dataclass
class BatchResult:
    items_seen: int = 0
    steps: Counter[tuple[str, str]] = field(default_factory=Counter)
    stopped: Counter[str] = field(default_factory=Counter)
    waiting_for_agency: int = 0
    waiting_for_hand_over: int = 0


async def run(
    db: Database,
    *,
    run_date: dt.date,
    batch_accounts: int = DEFAULT_BATCH_ACCOUNTS,
    notifier: Notifier = DEFAULT_NOTIFIER,
    progress: ProgressFn | None = None,
    workers: int = DEFAULT_WORKERS,
) -> RunSummary:
    """Walk every open debit item whose step is due on ``run_date``, a range of accounts per
    unit of work, ``workers`` units at a time (one on SQLite). Idempotent and resumable: run
    it again and only what is missing is done. The ranges are disjoint, so units running side
    by side touch different accounts, and each commits (or is lost) on its own."""
    if isinstance(batch_accounts, bool) or not 1 <= batch_accounts <= 1_000_000:
        raise InvalidInput("batch size is 1 to 1 000 000 accounts", code="batch_size_invalid")
    if isinstance(workers, bool) or not 1 <= workers <= 8:
        raise InvalidInput("workers are 1 to 8", code="workers_invalid")
    started = time.perf_counter()
    async with db.session() as session:
        ladders = await _ladders(session)
        bounds = await repository.account_id_bounds(session)
    summary = RunSummary(run_date=run_date, ladder_version=ladders.current)
    if bounds is None:
        return summary
    first, last = bounds
    total = last - first + 1
    ranges = iter(range(first, last + 1, batch_accounts))
    walked = 0

    async def worker() -> None:
        nonlocal walked
        # One shared iterator: each range is taken by exactly one worker.
        for lo in ranges:
            hi = min(lo + batch_accounts, last + 1)

            async def unit(session: AsyncSession, lo: int = lo, hi: int = hi) -> BatchResult:
                return await run_batch(session, ladders, run_date, lo, hi, notifier)

            summary.add(await db.run(unit))
            walked += hi - lo
            if progress is not None:
                progress("dunning", walked, total)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(1 if db.is_sqlite else workers):
                group.create_task(worker())
    except BaseExceptionGroup as failed:
        # The first failure, as itself: the surfaces map errors by their type. The other
        # workers' open units were cancelled and rolled back, like a killed run's.
        raise failed.exceptions[0] from None
    summary.seconds = time.perf_counter() - started
    log.info(
        "dunning.run_done",
        run_date=run_date.isoformat(),
        batches=summary.batches,
        steps=summary.done,
        seconds=round(summary.seconds, 3),
    )
    return summary


async def run_batch(
    session: AsyncSession,
    ladders: Ladders,
    run_date: dt.date,
    lo: int,
    hi: int,
    notifier: Notifier = DEFAULT_NOTIFIER,
) -> BatchResult:
    """Do every step due on ``run_date`` for the open items of accounts ``lo <= id < hi``."""
    result = BatchResult()
    due_by = run_date - dt.timedelta(days=ladders.earliest)
    found = await repository.candidates(session, lo, hi, due_by)
    result.items_seen = len(found)
    if not found:
        return result
    done = await repository.done_steps(session, lo, hi)
    disputed = await disputed_open_item_ids_between(session, lo, hi)
    promised = await repository.promised_in_force(session, lo, hi, run_date)
    now = clock.now()
    starts: list[tuple[int, int, int]] = []
    plan: list[tuple[repository.Candidate, int, list[StepRow]]] = []
    for item in found:
        ladder_id = item.ladder_id or ladders.current
        due = ladders.due(ladder_id, item.kind, item.due_date, run_date)
        if done:
            due = [r for r in due if (item.item_id, r.name) not in done]
        if not due:
            continue
        if item.disputed or item.item_id in disputed:
            result.stopped["dispute"] += 1
            continue
        if item.account_id in promised:
            result.stopped["promised"] += 1
            continue
        if item.ladder_id is None:
            starts.append((item.item_id, item.account_id, ladder_id))
        plan.append((item, ladder_id, due))
    records = await _act(session, ladders, plan, run_date, notifier, result, done)
    await repository.start_items(session, starts, started_on=run_date)
    await repository.insert_progress(session, records, run_date=run_date, at=now)
    result.steps.update((r[3], r[5]) for r in records)
    return result


Planned = tuple[repository.Candidate, int, StepRow]


def _progress(planned: Planned, outcome: str) -> repository.ProgressRecord:
    item, ladder_id, row = planned
    return (item.item_id, item.account_id, ladder_id, row.name, row.action, outcome)


async def _act(
    session: AsyncSession,
    ladders: Ladders,
    plan: Sequence[tuple[repository.Candidate, int, list[StepRow]]],
    run_date: dt.date,
    notifier: Notifier,
    result: BatchResult,
    done: set[tuple[int, str]],
) -> list[repository.ProgressRecord]:
    """Carry out each item's due steps; the progress row of each step done (a step that must
    wait has none). ``done``: the (open item, step) done by earlier runs."""
    records: list[repository.ProgressRecord] = []
    notices: dict[tuple[int, str], list[tuple[repository.Candidate, StepRow]]] = {}
    suspend: list[Planned] = []
    handover: dict[tuple[int, str | None], list[Planned]] = defaultdict(list)
    after_hand_over: list[Planned] = []
    for item, ladder_id, due in plan:
        # A notice made stale by a later one due in the same run is recorded, not sent.
        latest: StepRow | None = None
        for row in due:
            if row.action in NOTICE_ACTIONS and (
                latest is None or row.offset_days >= latest.offset_days
            ):
                latest = row
        for row in due:
            action = row.action
            if action in NOTICE_ACTIONS:
                if row is not latest:
                    outcome = "superseded"
                else:
                    outcome = "notified"
                    # One notice per account and step: every item due for it shares it.
                    notices.setdefault((item.account_id, row.name), []).append((item, row))
                records.append(
                    (item.item_id, item.account_id, ladder_id, row.name, action, outcome)
                )
            elif action == "suspend_service":
                suspend.append((item, ladder_id, row))
            elif action == "hand_over":
                handover[(item.account_id, row.agency_inn)].append((item, ladder_id, row))
            else:
                after_hand_over.append((item, ladder_id, row))
    if notices:
        await notifier.send(
            session,
            [_notice(account_id, group, run_date) for (account_id, _), group in notices.items()],
        )
    records += [_progress(p, o) for p, o in await _suspend(session, suspend)]
    handed = await _hand_over(session, handover, run_date, result)
    records += [_progress(p, o) for p, o in handed]
    court: dict[int, list[Planned]] = defaultdict(list)
    write_off: dict[int, list[Planned]] = defaultdict(list)
    now_done = {(p[0].item_id, p[2].name) for p, _ in handed}
    for planned in after_hand_over:
        item, ladder_id, row = planned
        # The agency stage comes before the court and the write-off: an item whose hand-over
        # is not done (no agency yet, or its day not come on an odd ladder) waits, unrecorded.
        if any(
            (item.item_id, name) not in done and (item.item_id, name) not in now_done
            for name in ladders.hand_over_steps(ladder_id, item.kind)
        ):
            result.waiting_for_hand_over += 1
            continue
        (court if row.action == "court_package" else write_off)[item.account_id].append(planned)
    for account_id, group in court.items():
        record(
            session,
            DUNNING_ACTOR,
            "dunning.court_ready",
            object_type="account",
            object_id=account_id,
            account_id=account_id,
            open_item_ids=[p[0].item_id for p in group],
        )
        records += [_progress(p, "court_ready") for p in group]
    for account_id, group in write_off.items():
        account = await repository.account(session, account_id)
        assert account is not None
        # The whole account's open debt, not only these items: a request has no list of its
        # items, and its approval writes off every open charge the request saw (issue #12,
        # part 3, waits for a table of a request's items).
        await collections.request_write_off(
            session, account, reason=WRITE_OFF_REASON, actor=DUNNING_ACTOR, as_of=run_date
        )
        records += [_progress(p, "write_off_proposed") for p in group]
    return records


def _notice(
    account_id: int, group: Sequence[tuple[repository.Candidate, StepRow]], run_date: dt.date
) -> DebtNotice:
    items = sorted((item for item, _ in group), key=lambda i: i.item_id)
    return DebtNotice(
        account_id=account_id,
        step=group[0][1].name,
        action=group[0][1].action,
        open_item_ids=tuple(i.item_id for i in items),
        service_ids=tuple(sorted({i.service_id for i in items if i.service_id is not None})),
        amount_minor=sum(i.remaining_minor for i in items),
        due_date=min(i.due_date for i in items),
        run_date=run_date,
    )


async def _suspend(session: AsyncSession, plan: Sequence[Planned]) -> list[tuple[Planned, str]]:
    """Suspend the overdue service itself (never the account, never another service)."""
    outcomes: list[tuple[Planned, str]] = []
    active: set[int] = set()
    for planned in plan:
        item = planned[0]
        if item.service_id is None:
            outcomes.append((planned, "no_service"))
        elif item.service_status == "active":
            active.add(item.service_id)
    done = await repository.suspend_for_debt(
        session, sorted(active), reason=SUSPEND_REASON, actor=DUNNING_ACTOR.name, at=clock.now()
    )
    suspended = {s.service_id for s in done}
    for planned in plan:
        item = planned[0]
        if item.service_id is not None:
            outcome = "suspended" if item.service_id in suspended else "already_suspended"
            outcomes.append((planned, outcome))
    await record_many(
        session,
        DUNNING_ACTOR,
        "service.suspended",
        object_type="service",
        events=[(s.service_id, s.account_id) for s in done],
        reason=SUSPEND_REASON,
    )
    await outbox.enqueue_many(
        session,
        [
            outbox.Queued(
                topic=outbox.SERVICE_SUSPENDED,
                payload={
                    "service_id": s.service_id,
                    "kind": s.kind,
                    "label": s.label,
                    "account_number": s.account_number,
                    "reason": "debt",
                },
                account_id=s.account_id,
            )
            for s in done
        ],
    )
    return outcomes


async def _hand_over(
    session: AsyncSession,
    groups: dict[tuple[int, str | None], list[Planned]],
    run_date: dt.date,
    result: BatchResult,
) -> list[tuple[Planned, str]]:
    outcomes: list[tuple[Planned, str]] = []
    agencies: dict[str | None, int | None] = {}
    for (account_id, inn), group in groups.items():
        if inn not in agencies:
            agencies[inn] = await repository.agency_id(session, inn)
        agency = agencies[inn]
        if agency is None:
            # Not recorded: the step stays due and a later run, with an agency, does it.
            result.waiting_for_agency += len(group)
            continue
        account = await repository.account(session, account_id)
        assert account is not None
        ids = [p[0].item_id for p in group]
        try:
            handed = await collections.handover(
                session, account, agency, actor=DUNNING_ACTOR, as_of=run_date, item_ids=ids
            )
            taken = {row.open_item_id for row in handed.items} if handed.created else set()
        except NothingToHandOver:
            taken = set()
        outcomes += [
            (p, "handed_over" if p[0].item_id in taken else "already_handed_over") for p in group
        ]
    return outcomes
