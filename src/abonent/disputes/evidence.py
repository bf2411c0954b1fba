"""Evidence files of a claim: PDF, JPEG or PNG by their content, kept outside the database.

A file is written under a random name into the configured directory first and its row added
after; if anything is refused the file is removed, so a refusal leaves no row and no file.
Only staff and the account's own subscriber may read one; anyone else is told it does not exist.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

import filetype  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession

from abonent.audit import service as audit
from abonent.config import get_settings
from abonent.disputes import repository as repo
from abonent.disputes.errors import DisputeClosed, EvidenceForbidden, EvidenceRefused
from abonent.disputes.service import file_dispute, get_dispute
from abonent.kit import clock
from abonent.kit.actor import Actor
from abonent.models import Account, Dispute, DisputeEvidence
from abonent.models.disputes import OPEN_STATUSES

ALLOWED = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def _directory() -> Path:
    path = Path(get_settings().disputes.evidence_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sniff(content: bytes) -> str | None:
    """The media type the bytes are, if one of the allowed ones (the name is never trusted)."""
    kind = filetype.guess(content[:8192])
    return kind.mime if kind is not None and kind.mime in ALLOWED else None


def _check(content: bytes, max_bytes: int) -> str:
    """The file's media type, or the refusal: empty, too large, not a PDF, JPEG or PNG."""
    if not content:
        raise EvidenceRefused("Файл пуст.")
    if len(content) > max_bytes:
        raise EvidenceRefused(
            f"Файл больше {max_bytes // 1_000_000} МБ.", code="dispute_evidence_too_large"
        )
    media_type = sniff(content)
    if media_type is None:
        raise EvidenceRefused(
            "Принимаются только PDF, JPEG и PNG.", code="dispute_evidence_wrong_type"
        )
    return media_type


def check_files(files: Sequence[tuple[str, bytes]]) -> None:
    """Refuse a set of files before anything is written: too many, or any one refused."""
    settings = get_settings().disputes
    if len(files) > settings.evidence_max_files:
        raise EvidenceRefused(
            f"К претензии можно приложить не больше {settings.evidence_max_files} файлов.",
            code="dispute_evidence_too_many",
        )
    for _name, content in files:
        _check(content, settings.evidence_max_bytes)


def discard(written: Sequence[Path]) -> None:
    """Remove files written by a unit of work that did not commit."""
    for path in written:
        path.unlink(missing_ok=True)


async def file_with_evidence(
    session: AsyncSession,
    account: Account,
    *,
    claims: Mapping[int, int | None],
    text: str,
    channel: str,
    actor: Actor,
    files: Sequence[tuple[str, bytes]],
    written: list[Path],
) -> Dispute:
    """File a claim with its evidence files in one go (the cabinet's and the desk's form).

    Every file is checked before anything is written; if anything fails after a file reached the
    disk, the files of this call are removed. The caller removes ``written`` if its commit
    fails, so a refusal leaves no row and no file."""
    check_files(files)
    start = len(written)
    try:
        dispute = await file_dispute(
            session, account, claims=claims, text=text, channel=channel, actor=actor
        )
        for name, content in files:
            await add_evidence(
                session, dispute.id, filename=name, content=content, actor=actor, written=written
            )
    except BaseException:
        discard(written[start:])
        del written[start:]
        raise
    return dispute


async def add_evidence(
    session: AsyncSession,
    dispute_id: int,
    *,
    filename: str,
    content: bytes,
    actor: Actor,
    written: list[Path] | None = None,
) -> DisputeEvidence:
    """Attach one file. ``written``, if given, gets the stored file's path once it is on disk, so
    a caller that fails later (or whose commit fails) can remove it (``discard``)."""
    settings = get_settings().disputes
    dispute = await get_dispute(session, dispute_id)
    if dispute.status not in OPEN_STATUSES:
        raise DisputeClosed(f"Претензия №{dispute_id} уже рассмотрена.")
    media_type = _check(content, settings.evidence_max_bytes)
    if len(await repo.evidence_of(session, dispute_id)) >= settings.evidence_max_files:
        raise EvidenceRefused(
            f"К претензии можно приложить не больше {settings.evidence_max_files} файлов.",
            code="dispute_evidence_too_many",
        )
    stored = f"{secrets.token_hex(16)}.{ALLOWED[media_type]}"
    path = _directory() / stored
    path.write_bytes(content)
    if written is not None:
        written.append(path)
    try:
        row = DisputeEvidence(
            dispute_id=dispute_id,
            stored_name=stored,
            original_name=os.path.basename(filename or "")[:255] or stored,
            media_type=media_type,
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=actor.name[:128],
            created_at=clock.now(),
        )
        session.add(row)
        audit.record(
            session,
            actor,
            "dispute.evidence_added",
            object_type="dispute",
            object_id=dispute_id,
            account_id=dispute.account_id,
            sha256=row.sha256,
            size=row.size_bytes,
        )
        await session.flush()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return row


def may_read(actor: Actor, account_id: int, *, subscriber_account_ids: set[int]) -> bool:
    """Staff (any staff role) read every claim's files; a subscriber only their own accounts'."""
    if actor.name.startswith("staff:") or actor.role == "admin":
        return True
    return account_id in subscriber_account_ids


async def read_evidence(
    session: AsyncSession,
    evidence_id: int,
    *,
    actor: Actor,
    subscriber_account_ids: set[int] | None = None,
) -> tuple[DisputeEvidence, bytes]:
    row = await repo.evidence(session, evidence_id)
    if row is None:
        raise EvidenceForbidden("Файл не найден.")
    dispute = await get_dispute(session, row.dispute_id)
    if not may_read(
        actor, dispute.account_id, subscriber_account_ids=subscriber_account_ids or set()
    ):
        raise EvidenceForbidden("Файл не найден.")
    content = (_directory() / row.stored_name).read_bytes()
    if hashlib.sha256(content).hexdigest() != row.sha256:
        raise EvidenceForbidden("Файл повреждён.", code="dispute_evidence_corrupt")
    return row, content
