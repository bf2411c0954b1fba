from __future__ import annotations

from abonent.kit.errors import BusinessRuleViolation, Conflict, NotFound


class UnbalancedEntry(BusinessRuleViolation):
    default_code = "ledger_unbalanced"


class EntryNotFound(NotFound):
    default_code = "entry_not_found"


class AlreadyReversed(Conflict):
    default_code = "entry_already_reversed"


class NotReversible(BusinessRuleViolation):
    default_code = "entry_not_reversible"
