from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings, load_settings
from assistant.memory import Memory, open_memory
from assistant.memory.db import dispose_engine


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings isolated from the developer's machine: data in tmp_path, no config file, no env."""
    monkeypatch.chdir(tmp_path)
    for key in list(__import__("os").environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    return load_settings({"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache"})


@pytest.fixture
def memory(settings: Settings):
    mem: Memory = open_memory(settings)
    yield mem
    dispose_engine(settings.database_url)
