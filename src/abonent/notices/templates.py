"""Saved debt notice templates: versioned, checked when saved and again when read.

Each save is a new version (never an update) and the latest version is the one in use; with no
version saved, the built-in :data:`~abonent.notices.text.DEFAULT_TEMPLATE` is. A save is refused
(nothing stored) unless the text passes :func:`~abonent.notices.text.check_template_text`: no
link, domain or short link, every field, the account explanation.

When a notice is rendered the latest version is read and checked again, with its seal (an HMAC
of kind, version and text under the PII hash key, so a row written or edited behind this
module's back fails even if its text is clean). A version that fails is **not** replaced by the
built-in text or an older version: the operator chose to stop using those, and a compliance
officer wants no SMS to go with a text nobody approved. The notice is held instead
(:class:`~abonent.notices.errors.TemplateRefused`): the gate records the decision with reason
``template_refused`` and tries again every ``notices.template_retry_minutes`` (60), an error is
logged each time, and saving a good version lets the held notices go at their next try.
Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit.service import record
from abonent.config import Settings
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.kit.errors import InvalidInput
from abonent.models import NoticeTemplateVersion
from abonent.notices import repository as repo
from abonent.notices.errors import TemplateRefused, TemplateRoleRefused
from abonent.notices.text import DEFAULT_TEMPLATE, NoticeTemplate, check_template_text

log = structlog.get_logger(__name__)

DEBT_NOTICE: Final = "debt_notice"
SAVE_ROLES: Final = frozenset({"admin", "supervisor"})
READ_ROLES: Final = frozenset({"admin", "supervisor", "collections"})


def seal(settings: Settings, kind: str, version: int, text: str) -> str:
    key = settings.secret("pii_hash_key")
    message = f"notice-template:{kind}:{version}:{text}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _require(actor: Actor, roles: frozenset[str], action: str) -> None:
    if actor.role not in roles:
        raise TemplateRoleRefused(
            f"роль {actor.role!r} не может {action} шаблон уведомления", action=action
        )


async def save(
    session: AsyncSession,
    text: str,
    *,
    actor: Actor,
    settings: Settings,
    kind: str = DEBT_NOTICE,
) -> NoticeTemplateVersion:
    """Store ``text`` as the kind's next version, in use from now; refused: nothing stored."""
    _require(actor, SAVE_ROLES, "сохранить")
    body = check_template_text(text)
    # The sender goes with every notice: a template cannot be saved while it would be refused.
    NoticeTemplate(settings.notices.sender, body)
    latest = await repo.latest_template(session, kind)
    version = (latest.version if latest is not None else 0) + 1
    row = NoticeTemplateVersion(
        kind=kind,
        version=version,
        text=body,
        seal=seal(settings, kind, version, body),
        saved_by=actor.name[:128],
        saved_at=clock.now(),
    )
    repo.add_template(session, row)
    await session.flush()
    record(
        session,
        actor,
        "notice_template.save",
        object_type="notice_template",
        object_id=f"{kind}:{version}",
        kind=kind,
        version=version,
    )
    return row


def problem_of(row: NoticeTemplateVersion, settings: Settings) -> InvalidInput | None:
    """Why a stored version may not be used (its seal, or the check), else None."""
    expected = seal(settings, row.kind, row.version, row.text)
    if not hmac.compare_digest(expected, row.seal or ""):
        return InvalidInput(
            f"версия {row.version} шаблона изменена в обход системы: подпись не сходится",
            code="notice_template_seal",
        )
    try:
        NoticeTemplate(settings.notices.sender, row.text)
    except InvalidInput as refused:
        return refused
    return None


@dataclass(frozen=True, slots=True)
class InUse:
    template: NoticeTemplate
    version: int | None
    """None: the built-in text (no version saved)."""


async def in_use(session: AsyncSession, settings: Settings, kind: str = DEBT_NOTICE) -> InUse:
    """The template a notice is rendered with now. TemplateRefused if the latest saved version
    fails its seal or its check (never the built-in text in its place)."""
    row = await repo.latest_template(session, kind)
    if row is None:
        return InUse(NoticeTemplate(settings.notices.sender, DEFAULT_TEMPLATE), None)
    problem = problem_of(row, settings)
    if problem is not None:
        log.error(
            "notice.template_refused",
            kind=kind,
            version=row.version,
            code=problem.code,
            detail=problem.detail,
        )
        raise TemplateRefused(
            f"шаблон уведомления (версия {row.version}) отклонён: {problem.detail}",
            reason="template_refused",
            retry_after=dt.timedelta(minutes=settings.notices.template_retry_minutes),
            version=row.version,
            cause=problem.code,
        )
    return InUse(NoticeTemplate(settings.notices.sender, row.text), row.version)


@dataclass(frozen=True, slots=True)
class VersionState:
    row: NoticeTemplateVersion
    problem: InvalidInput | None
    latest: bool


async def versions(
    session: AsyncSession, *, actor: Actor, settings: Settings, kind: str = DEBT_NOTICE
) -> list[VersionState]:
    """Every saved version, newest first, each with what (if anything) is wrong with it."""
    _require(actor, READ_ROLES, "читать")
    rows = await repo.template_versions(session, kind)
    return [VersionState(r, problem_of(r, settings), i == 0) for i, r in enumerate(rows)]
