from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.config import Settings, load_settings
from assistant.memory.db import dispose_engine


def _settings(data_dir: Path) -> Settings:
    """Real default models (from the shared model cache), but a private database."""
    for key in list(os.environ):
        if key.startswith("ASSISTANT_") and key != "ASSISTANT_CACHE_DIR":
            os.environ.pop(key)
    return load_settings({"data_dir": data_dir, "tts": {"deterministic": True}})


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
        pipeline.close()
    if made:
        dispose_engine(made[0].settings.database_url)


@pytest.fixture(scope="module")
def pipeline(pipeline_factory):
    return pipeline_factory()
