"""Importing rated charges from the rating system, idempotently by external id.

The whole file is checked before anything is written: the shape of every line
(:mod:`abonent.charges.parser`), then, in one read unit of work, the accounts, the services and the
external ids already in the ledger. Only a clean file (or, with ``skip_invalid``, its clean lines)
is written, batch by batch, each batch its own unit of work (:mod:`abonent.charges.writer`). A
crash between batches leaves whole batches behind; running the same file again writes only what
is missing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.accounts.service import parse_number
from abonent.charges.errors import ChargeFileInvalid
from abonent.charges.parser import ParsedCharge, parse_charges
from abonent.charges.schemas import BatchResult, ImportResult, NewCharge, ProgressFn, RowError
from abonent.charges.writer import (
    chunks,
    conflict_error,
    differences,
    existing_items,
    write_batch,
)
from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import InvalidInput
from abonent.kit.numbers import normalize_msisdn
from abonent.ledger.chart import CHARGE, revenue_ledger
from abonent.models import Account, Service

DEFAULT_BATCH_SIZE = 50_000
# A file with these cannot be read as a whole: refused even with skip_invalid.
FATAL = frozenset({"file_encoding", "file_malformed", "file_empty", "header_invalid"})
SERVICE_PREFIXES = ("mobile", "internet", "tv")
_PHONE_LIKE = re.compile(r"^\+?[\d\s()\-]{10,24}$")
_IN_CHUNK = 1_000

_DEFAULT_DESCRIPTION = {"usage": "Услуги связи за {period}", "one_off": "Разовое начисление"}


@dataclass(slots=True)
class Plan:
    """A checked file: what to write, what is refused, what the ledger already has."""

    charges: list[NewCharge] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    already_there: int = 0


async def import_charges(
    db: Database,
    data: bytes | str,
    *,
    name: str,
    actor: Actor,
    skip_invalid: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """Check the whole file, then write it in units of work of ``batch_size`` charges.

    Raises :class:`ChargeFileInvalid` listing every bad line, having written nothing, unless
    ``skip_invalid`` (then the good lines are written and the bad ones returned in ``errors``).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInput(
            "batch size must be a positive number of rows", code="batch_size_invalid"
        )
    settings = get_settings()
    parsed = parse_charges(
        data,
        today=clock.today(settings.timezone),
        parse_account=parse_number,
        progress=progress,
    )
    if any(e.code in FATAL for e in parsed.errors):
        raise ChargeFileInvalid(parsed.errors, parsed.data_rows)
    async with db.session() as session:
        plan = await check_against_ledger(
            session, parsed.rows, default_due_days=settings.default_due_days
        )
    errors = sorted(parsed.errors + plan.errors, key=lambda e: e.line)
    if errors and not skip_invalid:
        raise ChargeFileInvalid(errors, parsed.data_rows)

    result = ImportResult(
        rows=parsed.data_rows,
        already_there=plan.already_there,
        invalid=len({e.line for e in errors}),
        errors=errors,
        sha256=parsed.sha256,
    )
    done, total = 0, len(plan.charges)
    if progress is not None:
        progress("importing", 0, total)
    batches = list(chunks(plan.charges, batch_size))
    for number, batch in enumerate(batches, 1):

        async def work(
            session: AsyncSession, batch: Sequence[NewCharge] = batch, n: int = number
        ) -> BatchResult:
            return await write_batch(
                session,
                batch,
                entry_kind=CHARGE,
                source=f"charges:{parsed.sha256[:16]}:{n}",
                memo=f"Начисления из файла {name} (часть {n} из {len(batches)})",
                actor=actor,
                audit_action="charges.import",
                audit_object=parsed.sha256[:16],
            )

        result.add(await db.run(work))
        done += len(batch)
        if progress is not None:
            progress("importing", done, total)
    return result


async def check_against_ledger(
    session: AsyncSession, rows: Sequence[ParsedCharge], *, default_due_days: int
) -> Plan:
    """Match well-formed lines with accounts and services, and with what is already imported.

    A closed account still takes charges: a late usage record for it is real debt. So does a
    suspended or closed service.
    """
    plan = Plan()
    accounts = await _accounts(session, sorted({r.account_number for r in rows}))
    services = _ServiceIndex(await _services(session, sorted(set(accounts.values()))))
    unresolved: list[tuple[ParsedCharge, int]] = []
    due_after = dt.timedelta(days=default_due_days)
    # Values repeated on many lines, worked out once. Revenue is keyed by service kind (see
    # abonent.ledger.chart), a charge on the account itself with no service as other revenue.
    ledgers = {sid: revenue_ledger(kind) for sid, kind in services.kind_of.items()}
    other_revenue = revenue_ledger(None)
    descriptions: dict[tuple[str, str], str] = {}
    dues: dict[dt.date, dt.date] = {}
    charges = plan.charges
    for r in rows:
        account_id = accounts.get(r.account_number)
        if account_id is None:
            plan.errors.append(
                RowError(
                    r.line, "account_not_found", f"no account {r.account_number}", "account_number"
                )
            )
            continue
        service_id: int | None = None
        if r.service:
            found = services.resolve(account_id, r.service)
            if isinstance(found, RowError):
                plan.errors.append(RowError(r.line, found.code, found.message, "service"))
                continue
            if found is None:
                unresolved.append((r, account_id))
                continue
            service_id = found
        due = r.due_date
        if due is None:
            due = dues.get(r.charged_on)
            if due is None:
                due = dues[r.charged_on] = r.charged_on + due_after
        description = r.description
        if not description:
            description = descriptions.get((r.kind, r.period), "")
            if not description:
                description = _DEFAULT_DESCRIPTION[r.kind].format(period=r.period)
                descriptions[(r.kind, r.period)] = description
        charges.append(
            NewCharge(
                r.external_id,
                account_id,
                service_id,
                r.amount_minor,
                r.kind,
                other_revenue if service_id is None else ledgers[service_id],
                r.period,
                r.charged_on,
                due,
                description,
                r.line,
            )
        )
    if unresolved:
        plan.errors += await _unknown_services(session, services, unresolved)

    existing = await existing_items(session, [c.external_id for c in plan.charges])
    if existing:
        fresh = []
        for c in plan.charges:
            there = existing.get(c.external_id)
            if there is None:
                fresh.append(c)
            elif diff := differences(there, c):
                plan.errors.append(conflict_error(c, diff))
            else:
                plan.already_there += 1
        plan.charges = fresh
    plan.errors.sort(key=lambda e: e.line)
    return plan


async def _accounts(session: AsyncSession, numbers: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(numbers, _IN_CHUNK):
        rows = await session.execute(
            select(Account.number, Account.id).where(Account.number.in_(part))
        )
        found.update((number, account_id) for number, account_id in rows)
    return found


_ServiceRow = tuple[int, int, str, str | None, str | None, str | None]


async def _services(session: AsyncSession, account_ids: Sequence[int]) -> list[_ServiceRow]:
    found: list[_ServiceRow] = []
    for part in chunks(account_ids, _IN_CHUNK):
        rows = await session.execute(
            select(
                Service.id,
                Service.account_id,
                Service.kind,
                Service.msisdn,
                Service.login,
                Service.smart_card,
            ).where(Service.account_id.in_(part))
        )
        found += [(a, b, c, d, e, f) for a, b, c, d, e, f in rows]
    return found


class _ServiceIndex:
    """Finds a service of an account by what a rating file writes for it.

    ``+7 916 123-45-67`` / ``89161234567`` (an MSISDN in any usual form), an internet login, a TV
    smart-card number; a prefix ``mobile:``, ``internet:`` or ``tv:`` says which one is meant.
    """

    def __init__(self, rows: Iterable[_ServiceRow]) -> None:
        self.by_key: dict[tuple[int, str, str], list[int]] = defaultdict(list)
        self.kind_of: dict[int, str] = {}
        for service_id, account_id, kind, msisdn, login, card in rows:
            self.kind_of[service_id] = kind
            for what, value in (("msisdn", msisdn), ("login", login), ("card", card)):
                if value:
                    self.by_key[(account_id, what, value)].append(service_id)
        self._keys: dict[str, list[tuple[str, str]] | RowError] = {}
        self._found: dict[tuple[int, str], int | RowError | None] = {}

    def keys(self, raw: str) -> list[tuple[str, str]] | RowError:
        known = self._keys.get(raw)
        if known is None:
            known = self._keys[raw] = self._parse(raw)
        return known

    @staticmethod
    def _parse(raw: str) -> list[tuple[str, str]] | RowError:
        kind, value = None, raw
        head, sep, rest = raw.partition(":")
        if sep and head.strip().lower() in SERVICE_PREFIXES:
            kind, value = head.strip().lower(), rest.strip()
        if not value:
            return RowError(0, "service_invalid", f"no identifier after {kind}:")
        keys: list[tuple[str, str]] = []
        if kind in (None, "internet"):
            keys.append(("login", value))
        if kind in (None, "tv"):
            keys.append(("card", value))
        if kind == "mobile" or (kind is None and _PHONE_LIKE.match(value)):
            try:
                keys.append(("msisdn", normalize_msisdn(value)))
            except InvalidInput as exc:
                if kind == "mobile":
                    return RowError(0, exc.code, exc.detail)
        return keys

    def resolve(self, account_id: int, raw: str) -> int | RowError | None:
        """The service id; None when the account has no such service; an error if ambiguous."""
        if (account_id, raw) in self._found:
            return self._found[(account_id, raw)]
        keys = self.keys(raw)
        found: int | RowError | None
        if isinstance(keys, RowError):
            found = keys
        else:
            ids = sorted({sid for key in keys for sid in self.by_key.get((account_id, *key), ())})
            if len(ids) > 1:
                found = RowError(
                    0,
                    "service_ambiguous",
                    f"{raw!r} matches several services of the account; prefix it with "
                    "mobile:, internet: or tv:",
                )
            else:
                found = ids[0] if ids else None
        self._found[(account_id, raw)] = found
        return found


async def _unknown_services(
    session: AsyncSession, index: _ServiceIndex, unresolved: list[tuple[ParsedCharge, int]]
) -> list[RowError]:
    """Say whether an unmatched service exists on another account or nowhere at all."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for row, _ in unresolved:
        keys = index.keys(row.service)
        assert not isinstance(keys, RowError)
        for what, value in keys:
            wanted[what].add(value)
    columns = {"msisdn": Service.msisdn, "login": Service.login, "card": Service.smart_card}
    elsewhere: set[tuple[str, str]] = set()
    for what, values in wanted.items():
        column = columns[what]
        for part in chunks(sorted(values), _IN_CHUNK):
            found = await session.scalars(select(column).where(column.in_(part)))
            elsewhere.update((what, value) for value in found if value)
    errors = []
    for row, _ in unresolved:
        keys = index.keys(row.service)
        assert not isinstance(keys, RowError)
        if any(key in elsewhere for key in keys):
            message = (
                f"{row.service!r} is a service of another account, not of {row.account_number}"
            )
            code = "service_other_account"
        else:
            message = f"account {row.account_number} has no service {row.service!r}"
            code = "service_not_found"
        errors.append(RowError(row.line, code, message, "service"))
    return errors
