from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.db.uow import Database
from abonent.models import ApiKey, AuditEvent

runner = CliRunner()


def said(text: str) -> str:
    """Output with line wrapping undone (Rich wraps at the terminal width)."""
    return " ".join(text.split())


def _keys(url: str) -> list[ApiKey]:
    async def go() -> list[ApiKey]:
        db = Database(url)
        try:
            async with db.session() as s:
                return list(await s.scalars(select(ApiKey).order_by(ApiKey.id)))
        finally:
            await db.dispose()

    return asyncio.run(go())


def _audit(url: str) -> list[tuple[str, str]]:
    async def go() -> list[tuple[str, str]]:
        db = Database(url)
        try:
            async with db.session() as s:
                rows = await s.execute(
                    select(AuditEvent.action, AuditEvent.object_id).order_by(AuditEvent.id)
                )
                return [(a, o) for a, o in rows]
        finally:
            await db.dispose()

    return asyncio.run(go())


def _call_api(url: str, key: str) -> int:
    async def go() -> int:
        from abonent.api.deps import key_cache
        from abonent.app import create_app

        key_cache.clear()
        db = Database(url)
        try:
            transport = httpx.ASGITransport(app=create_app(db))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                r = await client.get("/v1/accounts", headers={"Authorization": f"Bearer {key}"})
                return r.status_code
        finally:
            key_cache.clear()
            await db.dispose()

    return asyncio.run(go())


def test_create_prints_the_key_last_and_stores_only_its_hash(env_db: str) -> None:
    result = runner.invoke(app, ["apikey", "create", "--role", "integration", "--name", "bank-x"])
    assert result.exit_code == 0, result.output
    plain = result.output.strip().splitlines()[-1]
    assert plain.startswith("abk_") and len(plain) > 40
    [key] = _keys(env_db)
    assert (key.name, key.role, key.active) == ("bank-x", "integration", True)
    assert key.key_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in (key.prefix, key.key_hash) and plain.startswith(key.prefix)
    assert _audit(env_db) == [("apikey.create", str(key.id))]
    # The key works against the API right away.
    assert _call_api(env_db, plain) == 200


def test_create_refuses_unknown_role_or_blank_name(env_db: str) -> None:
    result = runner.invoke(app, ["apikey", "create", "--role", "root", "--name", "x"])
    assert result.exit_code == 1
    assert "role must be one of admin, supervisor, clerk, hotline, collections, integration" in (
        said(result.stderr)
    )
    result = runner.invoke(app, ["apikey", "create", "--role", "clerk", "--name", "   "])
    assert result.exit_code == 1
    assert "name is required" in said(result.stderr)
    result = runner.invoke(app, ["apikey", "create", "--name", "no-role"])
    assert result.exit_code == 2
    assert _keys(env_db) == [] and _audit(env_db) == []


def test_list_and_revoke(env_db: str) -> None:
    for role, name in (("clerk", "desk-1"), ("hotline", "8800")):
        assert (
            runner.invoke(app, ["apikey", "create", "--role", role, "--name", name]).exit_code == 0
        )
    first, second = _keys(env_db)

    listing = runner.invoke(app, ["apikey", "list"])
    assert listing.exit_code == 0
    rows = [line for line in listing.output.splitlines() if "desk-1" in line or "8800" in line]
    assert len(rows) == 2
    assert "clerk" in rows[0] and "active" in rows[0] and first.prefix in rows[0]
    assert "hotline" in rows[1] and "active" in rows[1] and second.prefix in rows[1]

    result = runner.invoke(app, ["apikey", "revoke", str(first.id)])
    assert result.exit_code == 0, result.output
    assert f"API key {first.id}" in result.output and "revoked" in result.output
    first_after, second_after = _keys(env_db)
    assert (first_after.active, first_after.revoked_at is not None) == (False, True)
    assert (second_after.active, second_after.revoked_at) == (True, None)
    listing = runner.invoke(app, ["apikey", "list"])
    [row] = [line for line in listing.output.splitlines() if "desk-1" in line]
    assert "revoked" in row
    audit = _audit(env_db)
    assert audit[-1] == ("apikey.revoke", str(first.id))

    # Refusals change nothing.
    for args, message in (
        (["apikey", "revoke", str(first.id)], "already revoked"),
        (["apikey", "revoke", "999"], "no API key 999"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert message in said(result.stderr)
    assert runner.invoke(app, ["apikey", "revoke", "abc"]).exit_code == 2
    assert _audit(env_db) == audit
    assert [(k.active, k.revoked_at) for k in _keys(env_db)] == [
        (first_after.active, first_after.revoked_at),
        (True, None),
    ]


def test_list_without_keys(env_db: str) -> None:
    result = runner.invoke(app, ["apikey", "list"])
    assert result.exit_code == 0 and "no API keys" in result.output


@pytest.mark.parametrize("name", ["ops\x00console", "ops\x1b[31mconsole", "two\nlines", "x" * 129])
def test_create_refuses_a_name_with_control_characters_or_too_long(env_db: str, name: str) -> None:
    result = runner.invoke(app, ["apikey", "create", "--role", "clerk", "--name", name])
    assert result.exit_code == 2, result.output
    assert "--name" in result.output
    listing = runner.invoke(app, ["apikey", "list"])
    assert "clerk" not in listing.output
