"""Staff for tests, made through the real service; every secret is remembered for the log scan."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from abonent.db.uow import Database
from abonent.kit import clock
from abonent.staff import credentials
from abonent.staff import service as staff
from tests.factories import ACTOR, remember_secret


@dataclass
class Employee:
    staff_id: int
    login: str
    password: str
    totp_secret: str

    def code(self, offset_steps: int = 0) -> str:
        at = clock.now().timestamp() + offset_steps * credentials.TOTP_INTERVAL
        code = credentials.totp_now(self.totp_secret, clock.now().fromtimestamp(at, clock.UTC))
        remember_secret(code)
        return code


async def make_staff(db: Database, role: str, login: str | None = None) -> Employee:
    name = login or f"{role}1"
    enrolment = await db.run(
        lambda s: staff.create(s, name, role=role, name=f"Сотрудник {role}", actor=ACTOR)
    )
    assert enrolment.totp_secret is not None
    remember_secret(enrolment.password)
    remember_secret(enrolment.totp_secret)
    return Employee(enrolment.user.id, name, enrolment.password, enrolment.totp_secret)


async def sign_in(client: httpx.AsyncClient, who: Employee) -> str:
    response = await client.post(
        "/v1/staff/login",
        json={"login": who.login, "password": who.password, "totp": who.code()},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    remember_secret(token)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
