"""The demo's employees sign in with the printed fixed credentials."""

from __future__ import annotations

import httpx
import pytest

from abonent.db.uow import Database
from abonent.demo.staff import DEMO_STAFF, create_demo_staff
from abonent.kit.clock import FrozenClock
from abonent.staff import credentials


async def test_every_demo_employee_signs_in(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock, capsys: pytest.CaptureFixture[str]
) -> None:
    from abonent.cli.demo import print_staff

    employees = await db.run(create_demo_staff)
    assert sorted(e.role for e in employees) == sorted(
        ["admin", "clerk", "collections", "hotline", "supervisor"]
    )
    print_staff(employees, cli="abonent")
    printed = capsys.readouterr().out
    for e in DEMO_STAFF:
        assert f"password {e.password}" in printed and f"TOTP {e.totp_secret}" in printed
        code = credentials.totp_now(e.totp_secret, clock.now())
        response = await client.post(
            "/v1/staff/login", json={"login": e.login, "password": e.password, "totp": code}
        )
        assert response.status_code == 200, (e.login, response.text)
        me = await client.get(
            "/v1/staff/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
        )
        assert me.json()["role"] == e.role
    assert "abonent staff totp clerk" in printed
