"""Which staff role may do what in collections (roles of h15-staff; admin may do all)."""

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
    "write_off.approve": frozenset({"supervisor", "admin"}),
    "collections.dashboard": frozenset({"collections", "supervisor", "admin"}),
    "court.prepare": frozenset({"collections", "supervisor", "admin"}),
}


def require(actor: Actor, action: str) -> None:
    if actor.role not in ROLES[action]:
        raise RoleRefused(f"the role {actor.role!r} may not do {action}", action=action)
