"""Demo employees with FIXED passwords and TOTP secrets: the demo only, never a default.

Anyone reading this file can sign in as them, which is the point of a demo and why nothing
outside ``abonent demo load`` uses these values.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from abonent.kit.actor import Actor
from abonent.staff import service as staff


@dataclass(frozen=True, slots=True)
class DemoEmployee:
    login: str
    role: str
    name: str
    password: str
    totp_secret: str


DEMO_STAFF = (
    DemoEmployee(
        "clerk",
        "clerk",
        "Смирнова Анна Петровна",
        "demo-clerk-2026",
        "DEMOCLERKABONENTDEMOCLERKABONENT",
    ),
    DemoEmployee(
        "hotline",
        "hotline",
        "Кузнецов Олег Игоревич",
        "demo-hotline-2026",
        "DEMOHOTLINEABONENTDEMOHOTLINEABO",
    ),
    DemoEmployee(
        "supervisor",
        "supervisor",
        "Волкова Мария Сергеевна",
        "demo-supervisor-2026",
        "DEMOSUPERVISORABONENTDEMOSUPERVI",
    ),
    DemoEmployee(
        "collections",
        "collections",
        "Попов Илья Андреевич",
        "demo-collections-2026",
        "DEMOCOLLECTIONSABONENTDEMOCOLLEC",
    ),
    DemoEmployee(
        "admin",
        "admin",
        "Морозов Павел Викторович",
        "demo-admin-2026",
        "DEMOADMINABONENTDEMOADMINABONENT",
    ),
)


async def create_demo_staff(session: AsyncSession) -> tuple[DemoEmployee, ...]:
    actor = Actor("demo", "admin")
    for e in DEMO_STAFF:
        await staff.create(
            session,
            e.login,
            role=e.role,
            name=e.name,
            actor=actor,
            password=e.password,
            totp_secret=e.totp_secret,
        )
    return DEMO_STAFF
