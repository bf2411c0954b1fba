"""Saved notice templates on the database: versions, refusals on save that store nothing, and a
stored version that fails its check when read holds the notice (never the built-in text)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from abonent.cli.main import app
from abonent.config import NoticeSettings, get_settings
from abonent.db.uow import Database
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.kit.errors import AbonentError
from abonent.models import (
    AuditEvent,
    ContactLogEntry,
    ContactMessage,
    DebtNotice,
    NoticeTemplateVersion,
    OutboxMessage,
)
from abonent.notices import templates
from abonent.notices.text import DEFAULT_TEMPLATE
from tests.notices.helpers import at, count, debtor, release, send, sms_texts

ADMIN = Actor("staff:irina", "admin")
EXPLAINED = "лицевой счёт — номер договора, не номер телефона"
GOOD = (
    "Задолженность по л/с {account} ({explained}): {amount}, срок {due_date}. "
    "Услуги: {services}. Код {code}, проверка *100*7*{code}# или {hotline}."
).replace("{explained}", EXPLAINED)
NOW = at(2026, 11, 18, 12)  # 15:00 in Moscow, a Wednesday


async def _save(db: Database, text: str, actor: Actor = ADMIN) -> NoticeTemplateVersion:
    async def work(s: AsyncSession) -> NoticeTemplateVersion:
        return await templates.save(s, text, actor=actor, settings=get_settings())

    return await db.run(work)


async def _state(db: Database) -> tuple[int, ...]:
    return (
        await count(db, NoticeTemplateVersion),
        await count(db, AuditEvent, AuditEvent.action == "notice_template.save"),
    )


async def test_save_makes_a_new_version_in_use_and_notices_follow_it(
    db: Database, clock: FrozenClock
) -> None:
    first = await _save(db, GOOD)
    second = await _save(db, GOOD.replace("Задолженность", "Долг"))
    assert (first.version, second.version) == (1, 2)
    assert await _state(db) == (2, 2)
    account = await debtor(db)
    done = await send(db, account, "first", NOW)
    assert done.outcome.verdict == "sent"
    [text] = await sms_texts(db)
    assert text.startswith(f"Долг по л/с ****{account.number[-4:]} ({EXPLAINED}): ")
    assert "1\u00a0050,00\u00a0₽, срок 28.11.2026" in text
    assert "8-800-250-08-90" in text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (GOOD + " Оплата: http://pay.example/x", "notice_template_link"),
        (GOOD + " Оплата на pay-debt.ru", "notice_template_link"),
        (GOOD + " Кратко: bit.ly/x", "notice_template_link"),
        (GOOD.replace(" или {hotline}", ""), "notice_template_field"),
        (GOOD.replace("срок {due_date}", "срок скоро"), "notice_template_field"),
        (GOOD + " {secret}", "notice_template_field"),
        (GOOD.replace(EXPLAINED, "лицевой счёт"), "notice_template_explanation"),
        ("", "notice_template_text"),
        (GOOD + "\x07", "notice_template_text"),
    ],
)
async def test_a_refused_save_stores_nothing(db: Database, text: str, code: str) -> None:
    await _save(db, GOOD)
    before = await _state(db)
    with pytest.raises(AbonentError) as refused:
        await _save(db, text)
    assert refused.value.code == code
    assert await _state(db) == before


async def test_only_admins_and_supervisors_save(db: Database) -> None:
    with pytest.raises(AbonentError) as refused:
        await _save(db, GOOD, Actor("staff:olga", "hotline"))
    assert refused.value.code == "notice_template_role"
    assert await _state(db) == (0, 0)


async def _tamper(db: Database, text: str, *, sealed: bool) -> None:
    """A version written behind the service's back, as a direct INSERT would."""
    async with db.session(write=True) as s:
        latest = await s.scalar(
            select(NoticeTemplateVersion.version).order_by(NoticeTemplateVersion.version.desc())
        )
        version = (latest or 0) + 1
        seal = templates.seal(get_settings(), "debt_notice", version, text) if sealed else "0" * 64
        await s.execute(
            insert(NoticeTemplateVersion).values(
                kind="debt_notice",
                version=version,
                text=text,
                seal=seal,
                saved_by="psql",
                saved_at=NOW,
            )
        )


@pytest.mark.parametrize(
    ("text", "sealed", "cause"),
    [
        # Sealed as the service would, yet holding a link: the check on reading refuses it.
        (GOOD + " Оплата на pay-debt.ru", True, "notice_template_link"),
        # A clean text with no valid seal: not written by the service.
        (GOOD.replace("{hotline}", "8-900-000-00-00 {hotline}"), False, "notice_template_seal"),
    ],
)
async def test_a_tampered_version_holds_the_notice_and_the_default_is_not_used(
    db: Database, clock: FrozenClock, text: str, sealed: bool, cause: str
) -> None:
    await _save(db, GOOD)
    await _tamper(db, text, sealed=sealed)
    account = await debtor(db)
    done = await send(db, account, "first", NOW)
    # Not sent with the tampered text, nor with version 1, nor with the built-in text.
    assert (done.outcome.verdict, done.outcome.reason) == ("deferred", "template_refused")
    assert done.outcome.at == NOW + dt.timedelta(minutes=60)
    assert await sms_texts(db) == []
    assert await count(db, OutboxMessage) == 0
    async with db.session() as s:
        notice = await s.scalar(select(DebtNotice))
        assert notice is not None and notice.code_hash is None and notice.sent_at is None
        message = await s.get_one(ContactMessage, notice.contact_message_id)
        assert (message.status, message.not_before) == ("pending", NOW + dt.timedelta(hours=1))
        [entry] = list(await s.scalars(select(ContactLogEntry)))
        assert (entry.verdict, entry.reason) == ("deferred", "template_refused")
        states = await templates.versions(s, actor=ADMIN, settings=get_settings())
    assert states[0].problem is not None and states[0].problem.code == cause
    assert states[1].problem is None
    # Still refused an hour on; a good version saved, the held notice goes at its next try.
    later = NOW + dt.timedelta(hours=1)
    assert await release(db, later) == ["deferred"]
    assert await sms_texts(db) == []
    await _save(db, GOOD.replace("Задолженность", "Долг"))
    assert await release(db, later + dt.timedelta(hours=1)) == ["sent"]
    [sent] = await sms_texts(db)
    assert sent.startswith("Долг по л/с ****")


async def test_no_saved_version_uses_the_built_in_text(db: Database, clock: FrozenClock) -> None:
    async with db.session() as s:
        used = await templates.in_use(s, get_settings())
    assert (used.version, used.template.text) == (None, DEFAULT_TEMPLATE)


def test_a_sender_that_reads_as_a_domain_stops_the_settings_loading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for sender in ("pay-debt.ru", "bit.ly", "Pay2.me", "", "AbonentTelecom"):
        with pytest.raises(ValidationError):
            NoticeSettings(sender=sender)
    monkeypatch.setenv("ABONENT_NOTICES__SENDER", "pay-debt.ru")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError):
            get_settings()
    finally:
        monkeypatch.delenv("ABONENT_NOTICES__SENDER")
        get_settings.cache_clear()
    assert NoticeSettings(sender="Abonent").sender == "Abonent"


def test_cli_saves_refuses_and_shows(env_db: str, tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    good, bad = folder / "good.txt", folder / "bad.txt"
    good.write_text(GOOD + "\n", encoding="utf-8")
    bad.write_text(GOOD + " bit.ly/x\n", encoding="utf-8")
    runner = CliRunner()
    shown = runner.invoke(app, ["notices", "template", "show"])
    assert shown.exit_code == 0 and "встроенный текст" in shown.output
    refused = runner.invoke(app, ["notices", "template", "save", str(bad)])
    assert refused.exit_code == 1
    assert "notice_template_link" in refused.output
    assert "версия" not in runner.invoke(app, ["notices", "template", "list"]).output
    saved = runner.invoke(app, ["notices", "template", "save", str(good)])
    assert saved.exit_code == 0, saved.output
    assert "версия 1" in saved.output
    shown = runner.invoke(app, ["notices", "template", "show"])
    assert shown.exit_code == 0 and GOOD in shown.output
