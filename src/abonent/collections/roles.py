"""Which staff role may do what in collections (roles of h15-staff).

Admin may do everything here but decide a write-off: issue #12 puts that decision with a
supervisor alone, so the operator who runs the system cannot also wave debt away. Admin may still
ask for one (the four-eyes rule then needs a supervisor to approve it). The console's role table
(``staff/roles.py``) repeats the actions its pages use; a test holds the two equal.
"""

from __future__ import annotations

from typing import Final

from abonent.collections.errors import RoleRefused
from abonent.kit.actor import Actor

ROLES: Final[dict[str, frozenset[str]]] = {
    "agency.manage": frozenset({"collections", "supervisor", "admin"}),
    "collections.read": frozenset({"collections", "supervisor", "admin", "hotline"}),
    "collections.handover": frozenset({"collections", "supervisor", "admin"}),
    "collections.recall": frozenset({"collections", "supervisor", "admin"}),
    "write_off.request": frozenset({"collections", "supervisor", "admin"}),
    "write_off.read": frozenset({"collections", "supervisor", "admin"}),
    "write_off.approve": frozenset({"supervisor"}),
    "write_off.reject": frozenset({"supervisor"}),
    "collections.dashboard": frozenset({"collections", "supervisor", "admin"}),
    "court.prepare": frozenset({"collections", "supervisor", "admin"}),
}


def require(actor: Actor, action: str) -> None:
    if actor.role not in ROLES[action]:
        raise RoleRefused(f"the role {actor.role!r} may not do {action}", action=action)
