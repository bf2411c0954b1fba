"""Which role may do what. One table, read by every surface that authenticates staff."""

from __future__ import annotations

STAFF = ("admin", "supervisor", "clerk", "hotline", "collections")
ALL = (*STAFF, "integration")

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "accounts.read": ALL,
    "accounts.write": ("admin", "supervisor", "clerk"),
    "accounts.close": ("admin", "supervisor"),
    # A credit limit lets a subscriber run up debt: a risk decision, not desk work.
    "accounts.credit_limit": ("admin", "supervisor"),
    "customers.read": STAFF,
    "customers.write": ("admin", "supervisor", "clerk"),
    # The full passport; the hotline works with masked data only.
    "customers.reveal": ("admin", "supervisor", "clerk"),
    "ledger.read": ALL,
    "payments.read": ALL,
    "payments.create": ("admin", "supervisor", "clerk", "integration"),
    "payments.reverse": ("admin", "supervisor"),
    "card_payments.create": ("admin", "supervisor", "clerk", "integration"),
}


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS.get(permission, ())
