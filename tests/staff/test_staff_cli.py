"""``abonent staff …``: the password and enrolment are shown once and work for a sign-in."""

from __future__ import annotations

import asyncio
import re

import pyotp
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.kit import clock
from abonent.models import StaffUser
from abonent.staff import credentials
from abonent.staff import service as staff
from tests.factories import remember_secret

runner = CliRunner()


def _users(url: str) -> list[StaffUser]:
    async def go() -> list[StaffUser]:
        db = Database(url)
        try:
            async with db.session() as s:
                return list(await s.scalars(select(StaffUser).order_by(StaffUser.id)))
        finally:
            await db.dispose()

    return asyncio.run(go())


def _sign_in(url: str, login: str, password: str, code: str) -> str:
    async def go() -> str:
        db = Database(url)
        try:
            tokens = await db.run(lambda s: staff.login(s, login, password, code, client="t"))
            return tokens.access_token
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_create_list_reset_disable(env_db: str) -> None:
    result = runner.invoke(
        app, ["staff", "create", "petrova", "--role", "hotline", "--name", "Петрова А. В."]
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"^password: (\S+)$", result.output, re.M)
    uri = re.search(r"(otpauth://totp/\S+)", result.output)
    assert password and uri
    remember_secret(password[1])
    secret = pyotp.parse_uri(uri[1]).secret
    remember_secret(secret)
    assert "issuer=Abonent" in uri[1]
    assert "█" in result.output or "▀" in result.output  # the terminal QR
    [user] = _users(env_db)
    assert (user.login, user.role, user.name, user.active) == (
        "petrova",
        "hotline",
        "Петрова А. В.",
        True,
    )
    assert password[1] not in user.password_hash and secret.encode() not in user.totp_secret_enc
    code = credentials.totp_now(secret, clock.now())
    assert _sign_in(env_db, "petrova", password[1], code).startswith("abs_")

    listed = runner.invoke(app, ["staff", "list"])
    assert listed.exit_code == 0 and "petrova" in listed.output and "active" in listed.output

    dev_code = runner.invoke(app, ["staff", "totp", "petrova"])
    assert dev_code.exit_code == 0 and dev_code.output.strip() == credentials.totp_now(
        secret, clock.now()
    )

    reset = runner.invoke(app, ["staff", "reset-password", "petrova"])
    assert reset.exit_code == 0, reset.output
    new = re.search(r"^password: (\S+)$", reset.output, re.M)
    assert new and new[1] != password[1] and "otpauth://" not in reset.output
    remember_secret(new[1])

    reenrol = runner.invoke(app, ["staff", "reset-password", "petrova", "--totp"])
    new_uri = re.search(r"(otpauth://totp/\S+)", reenrol.output)
    assert new_uri and pyotp.parse_uri(new_uri[1]).secret != secret
    remember_secret(pyotp.parse_uri(new_uri[1]).secret)

    disabled = runner.invoke(app, ["staff", "disable", "petrova"])
    assert disabled.exit_code == 0
    assert [u.active for u in _users(env_db)] == [False]


@pytest.mark.parametrize(
    "args, code",
    [
        (["staff", "create", "x y", "--role", "clerk", "--name", "A"], "staff.login_malformed"),
        (["staff", "create", "ok", "--role", "boss", "--name", "A"], "staff.role_unknown"),
        (["staff", "disable", "ghost"], "staff.not_found"),
    ],
)
def test_refusals_change_nothing(env_db: str, args: list[str], code: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert code in result.output
    assert _users(env_db) == []


def test_totp_command_is_refused_in_production(
    env_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABONENT_ENV", "production")
    for name in ("PII_KEY", "PII_HASH_KEY", "ACQUIRING__WEBHOOK_SECRET"):
        monkeypatch.setenv(f"ABONENT_{name}", "x" * 32)
    result = runner.invoke(app, ["staff", "totp", "whoever"])
    assert result.exit_code == 1
    assert "staff.development_only" in result.output


def test_qr_svg_is_an_svg_of_the_uri() -> None:
    svg = credentials.qr_svg("otpauth://totp/Abonent:x?secret=JBSWY3DPEHPK3PXP&issuer=Abonent")
    assert svg.startswith("<?xml") and "<svg" in svg and "<path" in svg
