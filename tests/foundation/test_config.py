from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import ConfigError, explain, load_settings


def _sources(overrides=None) -> dict[str, tuple[object, str]]:
    return {row.key: (row.value, row.source) for row in explain(overrides)}


def test_defaults(settings) -> None:
    assert settings.asr.backend == "faster-whisper"
    assert settings.nlu.model == "lstm"
    assert settings.generator.backend == "smollm2-135m"
    assert settings.tts.backend == "piper"
    assert (settings.host, settings.port, settings.device) == ("127.0.0.1", 7860, "auto")
    assert settings.database_url == f"sqlite:///{settings.data_dir / 'assistant.db'}"


def test_precedence_default_toml_env_cli(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "assistant.toml").write_text('port = 8001\n[asr]\nbackend = "whisper"\nbeam_size = 3\n')
    assert load_settings().port == 8001
    assert load_settings().asr.backend == "whisper"

    monkeypatch.setenv("ASSISTANT_PORT", "8002")
    monkeypatch.setenv("ASSISTANT_ASR__BEAM_SIZE", "4")
    loaded = load_settings()
    assert (loaded.port, loaded.asr.beam_size, loaded.asr.backend) == (8002, 4, "whisper")

    loaded = load_settings({"port": 8003})
    assert loaded.port == 8003
    rows = _sources({"port": 8003})
    assert rows["port"] == (8003, "cli")
    assert rows["asr.beam_size"] == (4, "env")
    assert rows["asr.backend"][1].startswith("toml:")
    assert rows["tts.backend"] == ("piper", "default")


def test_config_env_points_to_file(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "elsewhere.toml"
    custom.write_text('[nlu]\nmodel = "transformer"\n')
    monkeypatch.setenv("ASSISTANT_CONFIG", str(custom))
    assert load_settings().nlu.model == "transformer"
    monkeypatch.setenv("ASSISTANT_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()


def test_invalid_values_are_clear_errors(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="port"):
        load_settings({"port": 70000})
    monkeypatch.setenv("ASSISTANT_DEVICE", "tpu")
    with pytest.raises(ConfigError, match="device"):
        load_settings()
    monkeypatch.delenv("ASSISTANT_DEVICE")
    (tmp_path / "assistant.toml").write_text("port = [")
    with pytest.raises(ConfigError):
        load_settings()


def test_secrets_are_redacted(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_AUTH__PASSWORD", "hunter2")
    rows = _sources()
    assert rows["auth.password"] == ("**********", "env")
    assert "hunter2" not in repr(load_settings())


def test_config_show_cli(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TTS__BACKEND", "espeak")
    runner = CliRunner()
    result = runner.invoke(app, ["--set", "asr.beam_size=2", "config", "show", "--json"])
    assert result.exit_code == 0, result.output
    import json

    shown = json.loads(result.stdout)
    assert shown["tts.backend"] == {"value": "espeak", "source": "env"}
    assert shown["asr.beam_size"] == {"value": 2, "source": "cli"}
    assert shown["port"]["source"] == "default"

    table = runner.invoke(app, ["config", "show"])
    assert table.exit_code == 0 and "asr.backend" in table.stdout

    bad = runner.invoke(app, ["--set", "port=abc", "config", "show"])
    assert bad.exit_code == 1 and "Invalid settings" in bad.output and "Traceback" not in bad.output


def test_cli_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "chat", "talk", "transcribe", "say", "nlu", "bench", "db", "config"):
        assert command in result.stdout
