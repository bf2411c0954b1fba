"""Staff sign-in: password + TOTP, replay, lockout with backoff, session limits, audiences."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from abonent.db.uow import Database
from abonent.kit.clock import FrozenClock
from abonent.models import AuditEvent, StaffLoginFailure
from tests.api.helpers import assert_problem, snapshot
from tests.factories import api_key
from tests.staff.helpers import bearer, make_staff, sign_in


async def _failures(db: Database, login: str) -> StaffLoginFailure | None:
    async with db.session() as session:
        return await session.get(StaffLoginFailure, login)


async def test_login_me_logout(client: httpx.AsyncClient, db: Database, clock: FrozenClock) -> None:
    clerk = await make_staff(db, "clerk", "ivanova")
    response = await client.post(
        "/v1/staff/login",
        json={"login": "IVANOVA ", "password": clerk.password, "totp": clerk.code()},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    token = body["access_token"]
    assert token.startswith("abs_")
    me = await client.get("/v1/staff/me", headers=bearer(token))
    assert me.json() == {
        "staff_id": clerk.staff_id,
        "login": "ivanova",
        "name": "Сотрудник clerk",
        "role": "clerk",
    }
    assert (await client.post("/v1/staff/logout", headers=bearer(token))).status_code == 204
    assert_problem(
        await client.get("/v1/staff/me", headers=bearer(token)), 401, "auth.not_authenticated"
    )
    async with db.session() as session:
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert actions == ["staff.created", "staff.login", "staff.logout"]


async def test_wrong_password_and_wrong_code_are_one_answer(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    clerk = await make_staff(db, "clerk")
    wrong_password = await client.post(
        "/v1/staff/login",
        json={"login": clerk.login, "password": "nope-nope", "totp": clerk.code()},
    )
    wrong_code = await client.post(
        "/v1/staff/login",
        json={"login": clerk.login, "password": clerk.password, "totp": clerk.code(5)},
    )
    unknown = await client.post(
        "/v1/staff/login", json={"login": "nobody", "password": "x", "totp": "123456"}
    )
    for response in (wrong_password, wrong_code, unknown):
        body = assert_problem(response, 401, "staff.login_failed")
        assert body["detail"] == "login, password or code is wrong"
    failure = await _failures(db, clerk.login)
    assert failure is not None and failure.failures == 2 and failure.locked_until is None
    assert (await _failures(db, "nobody")) is not None


async def test_totp_code_is_refused_a_second_time(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    clerk = await make_staff(db, "clerk")
    code = clerk.code()
    first = await client.post(
        "/v1/staff/login", json={"login": clerk.login, "password": clerk.password, "totp": code}
    )
    assert first.status_code == 200
    replay = await client.post(
        "/v1/staff/login", json={"login": clerk.login, "password": clerk.password, "totp": code}
    )
    assert_problem(replay, 401, "staff.login_failed")
    # The previous step's code is older than the one used: a replay too.
    older = await client.post(
        "/v1/staff/login",
        json={"login": clerk.login, "password": clerk.password, "totp": clerk.code(-1)},
    )
    assert_problem(older, 401, "staff.login_failed")
    clock.advance(seconds=30)
    assert (await sign_in(client, clerk)).startswith("abs_")


async def test_lockout_with_backoff(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    clerk = await make_staff(db, "clerk")
    bad = {"login": clerk.login, "password": "wrong-password", "totp": "000000"}
    for _ in range(5):
        assert_problem(await client.post("/v1/staff/login", json=bad), 401, "staff.login_failed")
    failure = await _failures(db, clerk.login)
    assert failure is not None and failure.failures == 5
    assert failure.locked_until == clock.now().replace(minute=1)
    before = await snapshot(db)
    locked = await client.post(
        "/v1/staff/login",
        json={"login": clerk.login, "password": clerk.password, "totp": clerk.code()},
    )
    body = assert_problem(locked, 429, "staff.locked")
    assert body["retry_after"] == 61
    assert await snapshot(db) == before
    clock.advance(seconds=61)
    # One more failure after the lock doubles it (2 minutes).
    assert_problem(await client.post("/v1/staff/login", json=bad), 401, "staff.login_failed")
    failure = await _failures(db, clerk.login)
    assert failure is not None and failure.failures == 6
    assert failure.locked_until == clock.now().replace(second=1, minute=3)
    clock.advance(seconds=121)
    assert (await sign_in(client, clerk)).startswith("abs_")
    assert await _failures(db, clerk.login) is None


async def test_idle_timeout_and_absolute_life(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    hotline = await make_staff(db, "hotline")
    token = await sign_in(client, hotline)
    clock.advance(minutes=29)
    assert (await client.get("/v1/staff/me", headers=bearer(token))).status_code == 200
    clock.advance(minutes=30)
    assert_problem(
        await client.get("/v1/staff/me", headers=bearer(token)), 401, "auth.not_authenticated"
    )
    clock.advance(seconds=30)
    token = await sign_in(client, hotline)
    # Busy all day: every 20 minutes; still over after 10 hours.
    for _ in range(29):
        clock.advance(minutes=20)
        assert (await client.get("/v1/staff/me", headers=bearer(token))).status_code == 200
    clock.advance(minutes=20)
    assert_problem(
        await client.get("/v1/staff/me", headers=bearer(token)), 401, "auth.not_authenticated"
    )


async def test_other_audiences_are_refused(client: httpx.AsyncClient, db: Database) -> None:
    key = await api_key(db, "admin", name="ops")
    assert_problem(
        await client.get("/v1/staff/me", headers=bearer(key)), 403, "auth.wrong_audience"
    )
    assert_problem(
        await client.get("/v1/staff/me", headers={"X-API-Key": key}), 403, "auth.wrong_audience"
    )
    subscriber_like = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg"
    assert_problem(
        await client.get("/v1/staff/me", headers=bearer(subscriber_like)),
        403,
        "auth.wrong_audience",
    )
    assert_problem(await client.get("/v1/staff/me"), 401, "auth.not_authenticated")
    assert_problem(
        await client.get("/v1/staff/me", headers=bearer("abs_forged")),
        401,
        "auth.not_authenticated",
    )


async def test_disabled_staff_lose_their_sessions(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    from abonent.staff import service as staff
    from tests.factories import ACTOR

    clerk = await make_staff(db, "clerk")
    token = await sign_in(client, clerk)
    await db.run(lambda s: staff.disable(s, clerk.login, actor=ACTOR))
    assert_problem(
        await client.get("/v1/staff/me", headers=bearer(token)), 401, "auth.not_authenticated"
    )
    clock.advance(seconds=30)
    refused = await client.post(
        "/v1/staff/login",
        json={"login": clerk.login, "password": clerk.password, "totp": clerk.code()},
    )
    assert_problem(refused, 401, "staff.login_failed")


async def test_bad_login_bodies_change_nothing(client: httpx.AsyncClient, db: Database) -> None:
    await make_staff(db, "clerk")
    before = await snapshot(db)
    for body in (
        {},
        {"login": "clerk1"},
        {"login": "", "password": "x", "totp": "1"},
        {"login": "x" * 65, "password": "x", "totp": "1"},
        {"login": ["a"], "password": "x", "totp": "1"},
    ):
        response = await client.post("/v1/staff/login", json=body)
        assert response.status_code == 422, (body, response.text)
    assert await snapshot(db) == before
