"""A dunning ladder file (TOML or YAML) read into rows, or refused with every fault named.

Pure: no database. A file is refused whole (``dunning_ladder_invalid``) when any part of it is
wrong, so a bad file loads nothing. The format::

    name = "default"            # optional; 1 to 100 characters

    [[step]]
    name = "suspend"            # a-z, 0-9, _ ; unique in the file; the progress key
    action = "suspend_service"  # one of DUNNING_ACTIONS
    offset_days = 20            # days after the due date (remind: 0 or before it)
    by_kind = { tv = 30 }       # optional: another offset for a service kind
    kinds = ["mobile", "tv"]    # optional: only these kinds (else every kind, and
                                # account-level items)
    agency_inn = "7701234567"   # hand_over only, optional: else the agency of lowest id

YAML holds the same keys, ``step`` (or ``steps``) being a list of mappings.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import yaml

from abonent.collections.inn import is_valid_inn
from abonent.dunning.errors import LadderInvalid
from abonent.models.accounts import SERVICE_KINDS
from abonent.models.dunning import DUNNING_ACTIONS

NOTICE_ACTIONS = frozenset({"remind", "notice_1", "notice_2"})
MIN_OFFSET = -60
MAX_OFFSET = 3650
MAX_STEPS = 50
MAX_BYTES = 64_000
_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_STEP_KEYS = frozenset({"name", "action", "offset_days", "by_kind", "kinds", "agency_inn"})
_TOP_KEYS = frozenset({"name", "step", "steps"})


@dataclass(frozen=True, slots=True)
class StepRow:
    """One row of ``dunning_steps``: a step for one service kind (None: every kind)."""

    name: str
    action: str
    offset_days: int
    service_kind: str | None
    agency_inn: str | None = None


@dataclass(frozen=True, slots=True)
class LadderSpec:
    name: str
    rows: tuple[StepRow, ...]


def read(text: str | bytes, filename: str) -> LadderSpec:
    """Parse and check a ladder file; its suffix says the format (.toml, .yaml, .yml)."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise LadderInvalid(f"the file is larger than {MAX_BYTES} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise LadderInvalid("the file is not UTF-8 text") from None
    if len(text) > MAX_BYTES:
        raise LadderInvalid(f"the file is larger than {MAX_BYTES} bytes")
    suffix = PurePath(filename).suffix.lower()
    data: Any
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise LadderInvalid(f"not valid TOML: {exc}") from None
    elif suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise LadderInvalid(f"not valid YAML: {str(exc).splitlines()[0]}") from None
    else:
        raise LadderInvalid("a ladder file ends in .toml, .yaml or .yml")
    return check(data, default_name=PurePath(filename).stem)


def check(data: Any, *, default_name: str = "ladder") -> LadderSpec:
    """The rows of a ladder given as plain data; every fault is listed in one refusal."""
    faults: list[str] = []
    if not isinstance(data, Mapping):
        raise LadderInvalid("the file must hold a table (mapping) with a list of steps")
    unknown = sorted(str(k) for k in data if k not in _TOP_KEYS)
    if unknown:
        faults.append(f"unknown keys: {', '.join(unknown)}")
    name = data.get("name", default_name[:100] or "ladder")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        faults.append("name must be text of 1 to 100 characters")
        name = "ladder"
    if "step" in data and "steps" in data:
        faults.append("give the steps as 'step' or 'steps', not both")
    steps = data.get("step", data.get("steps"))
    if not isinstance(steps, list) or not steps:
        faults.append("the ladder needs at least one step (a list 'step')")
        steps = []
    elif len(steps) > MAX_STEPS:
        faults.append(f"at most {MAX_STEPS} steps")
        steps = []
    rows: list[StepRow] = []
    seen: set[str] = set()
    for number, step in enumerate(steps, start=1):
        rows.extend(_step(number, step, seen, faults))
    if faults:
        raise LadderInvalid("the ladder is refused: " + "; ".join(faults), faults=faults)
    return LadderSpec(name=name.strip(), rows=tuple(rows))


def _offset(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if MIN_OFFSET <= value <= MAX_OFFSET else None


def _step(number: int, step: Any, seen: set[str], faults: list[str]) -> list[StepRow]:
    where = f"step {number}"
    if not isinstance(step, Mapping):
        faults.append(f"{where}: must be a table of name, action, offset_days")
        return []
    name = step.get("name")
    if isinstance(name, str) and _NAME.match(name):
        where = f"step {number} ({name})"
        if name in seen:
            faults.append(f"{where}: the name is used by an earlier step")
        seen.add(name)
    else:
        faults.append(f"{where}: name must be 1 to 32 of a-z, 0-9, _")
    unknown = sorted(str(k) for k in step if k not in _STEP_KEYS)
    if unknown:
        faults.append(f"{where}: unknown keys: {', '.join(unknown)}")
    action = step.get("action")
    if action not in DUNNING_ACTIONS:
        faults.append(f"{where}: action must be one of {', '.join(DUNNING_ACTIONS)}")
    offset = _offset(step.get("offset_days"))
    if offset is None:
        faults.append(
            f"{where}: offset_days must be a whole number of days from {MIN_OFFSET} to {MAX_OFFSET}"
        )
    by_kind: dict[str, int] = {}
    raw_by_kind = step.get("by_kind", {})
    if not isinstance(raw_by_kind, Mapping):
        faults.append(f"{where}: by_kind must map a service kind to offset_days")
        raw_by_kind = {}
    for kind, value in raw_by_kind.items():
        days = _offset(value)
        if kind not in SERVICE_KINDS:
            faults.append(f"{where}: by_kind: unknown service kind {kind!r}")
        elif days is None:
            faults.append(f"{where}: by_kind.{kind} must be whole days {MIN_OFFSET}..{MAX_OFFSET}")
        else:
            by_kind[kind] = days
    kinds: list[str] | None = None
    if "kinds" in step:
        raw = step["kinds"]
        if (
            not isinstance(raw, list)
            or not raw
            or any(k not in SERVICE_KINDS for k in raw)
            or len(set(raw)) != len(raw)
        ):
            faults.append(f"{where}: kinds must list distinct kinds of {', '.join(SERVICE_KINDS)}")
        else:
            kinds = list(raw)
            extra = sorted(set(by_kind) - set(kinds))
            if extra:
                faults.append(f"{where}: by_kind names kinds not in kinds: {', '.join(extra)}")
    inn = step.get("agency_inn")
    if inn is not None:
        if action != "hand_over":
            faults.append(f"{where}: agency_inn is for a hand_over step only")
        elif not isinstance(inn, str) or not is_valid_inn(inn):
            faults.append(f"{where}: agency_inn is not a valid INN")
    if offset is None or action not in DUNNING_ACTIONS or not isinstance(name, str):
        return []
    offsets = [offset, *by_kind.values()]
    if action == "remind" and any(d > 0 for d in offsets):
        faults.append(f"{where}: a reminder comes on the due date or before it (offset_days <= 0)")
    if action != "remind" and any(d < 1 for d in offsets):
        faults.append(f"{where}: {action} comes after the due date (offset_days >= 1)")
    agency = inn if isinstance(inn, str) else None
    if kinds is None:
        rows = [StepRow(name, action, offset, None, agency)]
        rows += [StepRow(name, action, d, k, agency) for k, d in sorted(by_kind.items())]
        return rows
    return [StepRow(name, action, by_kind.get(k, offset), k, agency) for k in sorted(kinds)]
