"""Who a signed-in employee is, as every staff surface and service sees them."""

from __future__ import annotations

from dataclasses import dataclass

from abonent.kit.actor import Actor


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    staff_id: int
    login: str
    name: str
    role: str
    session_id: int = 0

    def actor(self) -> Actor:
        return Actor(f"staff:{self.staff_id}:{self.login}", self.role)


@dataclass(frozen=True, slots=True)
class StaffTokens:
    access_token: str
    expires_in: int
    session_id: int
