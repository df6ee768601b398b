"""The `hf` backend: a local model folder works; an unknown id offline fails with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.dialog.generators import GeneratorError, create_generator

from .conftest import generator_settings


@pytest.mark.slow
def test_local_folder_streams_a_reply(hf_fp32, smollm2_folder: Path) -> None:  # type: ignore[no-untyped-def]
    from assistant.dialog.types import Message

    assert hf_fp32.name == f"hf:{smollm2_folder}" and hf_fp32.dtype == "float32"
    assert "".join(hf_fp32.stream([Message("user", "Hello!")])).strip()


def test_unknown_id_offline_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        GeneratorError, match=r"'nobody/no-such-model-x1' is not on this machine.*local model folder"
    ):
        create_generator(generator_settings(backend="hf", model="nobody/no-such-model-x1"))


def test_model_setting_is_required_and_folders_are_checked(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError, match="needs a model: set generator.model"):
        create_generator(generator_settings(backend="hf"))
    with pytest.raises(GeneratorError, match="not a transformers model folder"):
        create_generator(generator_settings(backend="hf", model=str(tmp_path)))
