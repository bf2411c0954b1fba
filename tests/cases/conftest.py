"""Evidence files go to a fresh directory with small limits (1 000 bytes, 2 files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from abonent.config import get_settings


@pytest.fixture
def evidence_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = get_settings().disputes
    monkeypatch.setattr(settings, "evidence_dir", str(tmp_path / "evidence"))
    monkeypatch.setattr(settings, "evidence_max_bytes", 1_000)
    monkeypatch.setattr(settings, "evidence_max_files", 2)
    return tmp_path / "evidence"
