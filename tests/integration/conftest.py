from __future__ import annotations

import os
from pathlib import Path

import pytest
from platformdirs import user_cache_dir

from assistant.config import Settings, load_settings
from assistant.memory.db import dispose_engine

MODEL_CACHE = Path(user_cache_dir("assistant"))  # where `assistant models prepare` put the defaults


def _settings(data_dir: Path) -> Settings:
    """Real default models (from the prepared model cache), but a private database."""
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            os.environ.pop(key)
    return load_settings({"data_dir": data_dir, "cache_dir": MODEL_CACHE, "tts": {"deterministic": True}})


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment for CLI runs: a private database, the prepared model cache."""
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(MODEL_CACHE))
    return tmp_path


@pytest.fixture(scope="module")
def pipeline_factory(tmp_path_factory: pytest.TempPathFactory):
    """Build pipelines over one database folder; a second pipeline on the same folder is a 'restart'."""
    from assistant.pipeline import Pipeline

    data_dir = tmp_path_factory.mktemp("data")
    made: list[Pipeline] = []

    def make() -> Pipeline:
        pipeline = Pipeline(_settings(data_dir))
        made.append(pipeline)
        return pipeline

    yield make
    for pipeline in made:
        pipeline.runtime.close()
    if made:
        dispose_engine(made[0].settings.database_url)


@pytest.fixture(scope="module")
def pipeline(pipeline_factory):
    return pipeline_factory()
