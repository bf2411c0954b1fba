"""Who is acting: carried from the surface into services for audit and authorisation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    """'apikey:3:ops-console', 'agent:SBER', 'cli:root', 'system'."""
    role: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system", "admin")


SYSTEM = Actor("system", "admin")
