"""Evidence files: typed by content, limits refused leaving nothing, read by the right people."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from abonent.config import get_settings
from abonent.db.uow import Database
from abonent.disputes import evidence
from abonent.disputes import service as disputes
from abonent.disputes.errors import EvidenceForbidden, EvidenceRefused
from abonent.kit.actor import Actor
from abonent.kit.clock import FrozenClock
from abonent.models import Account, DisputeEvidence
from tests.disputes.helpers import account_with_charges

CLERK = Actor("staff:1:clerk", "clerk")
PNG = (
    bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\0" * 40
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\0" * 40


@pytest.fixture
def evidence_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = get_settings().disputes
    monkeypatch.setattr(settings, "evidence_dir", str(tmp_path / "evidence"))
    monkeypatch.setattr(settings, "evidence_max_bytes", 1_000)
    monkeypatch.setattr(settings, "evidence_max_files", 2)
    return tmp_path / "evidence"


async def _dispute(db: Database, clock: FrozenClock) -> tuple[int, int]:
    account, _old, new = await account_with_charges(db, clock)
    async with db.session(write=True) as s:
        fresh = await s.get(Account, account.id)
        assert fresh is not None
        dispute = await disputes.file_dispute(
            s, fresh, claims={new.id: None}, text="Не звонил", channel="desk", actor=CLERK
        )
        return dispute.id, account.id


def _files(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


async def _rows(db: Database) -> int:
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(DisputeEvidence)) or 0


async def test_accepted_types_stored_with_checksum(
    db: Database, clock: FrozenClock, evidence_dir: Path
) -> None:
    dispute_id, account_id = await _dispute(db, clock)
    async with db.session(write=True) as s:
        row = await evidence.add_evidence(
            s, dispute_id, filename="../../скан.png", content=PNG, actor=CLERK
        )
        evidence_id = row.id
    assert (row.media_type, row.size_bytes, row.sha256) == (
        "image/png",
        len(PNG),
        hashlib.sha256(PNG).hexdigest(),
    )
    assert row.original_name == "скан.png"
    assert _files(evidence_dir) == [row.stored_name]
    assert row.stored_name.endswith(".png") and "скан" not in row.stored_name
    async with db.session() as s:
        _row, content = await evidence.read_evidence(s, evidence_id, actor=CLERK)
        assert content == PNG
        subscriber = Actor(f"subscriber:{account_id}", "subscriber")
        _, mine = await evidence.read_evidence(
            s, evidence_id, actor=subscriber, subscriber_account_ids={account_id}
        )
        assert mine == PNG
        stranger = Actor("subscriber:999", "subscriber")
        with pytest.raises(EvidenceForbidden):
            await evidence.read_evidence(
                s, evidence_id, actor=stranger, subscriber_account_ids={account_id + 1}
            )
    async with db.session(write=True) as s:
        second = await evidence.add_evidence(
            s, dispute_id, filename="a.jpg", content=JPEG, actor=CLERK
        )
        assert second.media_type == "image/jpeg"


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (b"MZ\x90\x00 not a pdf at all", "letter.pdf", "dispute_evidence_wrong_type"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00", "photo.png", "dispute_evidence_wrong_type"),
        (PDF + b"\0" * 1_000, "big.pdf", "dispute_evidence_too_large"),
        (b"", "empty.pdf", "dispute_evidence_refused"),
    ],
)
async def test_refused_files_leave_nothing(
    db: Database, clock: FrozenClock, evidence_dir: Path, content: bytes, name: str, code: str
) -> None:
    dispute_id, _ = await _dispute(db, clock)
    async with db.session(write=True) as s:
        with pytest.raises(EvidenceRefused) as refused:
            await evidence.add_evidence(s, dispute_id, filename=name, content=content, actor=CLERK)
    assert refused.value.code == code
    assert await _rows(db) == 0
    assert _files(evidence_dir) == []


async def test_count_limit(db: Database, clock: FrozenClock, evidence_dir: Path) -> None:
    dispute_id, _ = await _dispute(db, clock)
    for content in (PDF, PNG):
        async with db.session(write=True) as s:
            await evidence.add_evidence(s, dispute_id, filename="f", content=content, actor=CLERK)
    kept = _files(evidence_dir)
    async with db.session(write=True) as s:
        with pytest.raises(EvidenceRefused) as refused:
            await evidence.add_evidence(s, dispute_id, filename="f", content=JPEG, actor=CLERK)
    assert refused.value.code == "dispute_evidence_too_many"
    assert await _rows(db) == 2
    assert _files(evidence_dir) == kept
