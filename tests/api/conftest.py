from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from abonent.api.deps import key_cache
from abonent.db.uow import Database
from tests.api.helpers import keys_for_roles


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    # The cache is per process; each test starts from an empty one (and leaves none behind).
    key_cache.clear()
    yield
    key_cache.clear()
    key_cache.clock = time.monotonic


@pytest.fixture
async def keys(db: Database) -> dict[str, str]:
    """A key for every role, by role name."""
    return await keys_for_roles(db)
