from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from assistant.config import Settings, load_settings
from assistant.memory import Memory, open_memory
from assistant.memory.db import dispose_engine
from tests.foundation import postgres

_counter = itertools.count()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings isolated from the developer's machine: data in tmp_path, no config file, no env."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    return load_settings({"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache"})


@pytest.fixture(scope="session")
def postgres_admin_url():
    reason = postgres.unavailable_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    with postgres.temporary_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def memory(request: pytest.FixtureRequest, settings: Settings):
    """A migrated Memory on SQLite, and on PostgreSQL through the very same code."""
    if request.param == "postgresql":
        admin = request.getfixturevalue("postgres_admin_url")
        url = postgres.create_database(admin, f"test_{next(_counter)}")
        settings = settings.model_copy(update={"database_url": url})
    mem: Memory = open_memory(settings)
    yield mem
    dispose_engine(settings.database_url)
