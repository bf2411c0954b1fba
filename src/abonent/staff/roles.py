"""The one table of what each staff role may do (docs/staff.md renders the same table)."""

from __future__ import annotations

from abonent.kit.errors import Forbidden

ROLES = ("clerk", "hotline", "collections", "supervisor", "admin")

_ALL = frozenset(ROLES)
ACTIONS: dict[str, frozenset[str]] = {
    "people.find": _ALL,
    "people.check": _ALL,
    "people.view": _ALL,
    # The full passport only at the desk, with the document in front of the clerk.
    "people.reveal": frozenset({"clerk", "supervisor"}),
    "people.sms": frozenset({"clerk", "hotline"}),
    "people.statement_pdf": frozenset({"clerk", "collections", "supervisor"}),
    "people.payment": frozenset({"clerk"}),
    "people.promised": frozenset({"clerk", "hotline"}),
    "people.audit": frozenset({"supervisor", "admin"}),
    "staff.manage": frozenset({"admin"}),
    "collections.dashboard": frozenset({"collections", "supervisor", "admin"}),
    "court.prepare": frozenset({"collections", "supervisor", "admin"}),
    # The write-off pages; the services check collections/roles.py, which says the same (a test
    # holds the two equal). Deciding is the supervisor's alone (issue #12).
    "write_off.read": frozenset({"collections", "supervisor", "admin"}),
    "write_off.approve": frozenset({"supervisor"}),
    "write_off.reject": frozenset({"supervisor"}),
}
# Everything else the person view shows is masked for these roles (amounts stay exact).
MASKED_ROLES = frozenset({"hotline", "collections"})


def may(role: str, action: str) -> bool:
    if action not in ACTIONS:
        # A typo would silently lock everyone out of an action.
        raise ValueError(f"unknown staff action {action!r}")
    return role in ACTIONS[action]


def check(role: str, action: str) -> None:
    if not may(role, action):
        raise Forbidden(f"role {role} may not {action}", code="staff.role_forbidden")
