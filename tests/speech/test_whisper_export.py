"""The CTranslate2 -> openai-whisper converter: layout, names, and the same transcript from both backends."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

from assistant.audio import load_audio
from assistant.speech.asr_models import tiny_en_dir
from assistant.speech.whisper_export import WhisperExportError, read_ct2_model, whisper_state_dict
from tests.speech.conftest import SPEECH_DATA, silence, words

WHISPER_INSTALLED = importlib.util.find_spec("whisper") is not None
needs_whisper = pytest.mark.skipif(
    not WHISPER_INSTALLED,
    reason="SKIPPED LOUDLY: openai-whisper (the `whisper` extra) is not installed, so the converter's output "
    "cannot be run; install it with `.venv/bin/pip install openai-whisper torch==2.13.0`",
)
if not WHISPER_INSTALLED:
    warnings.warn("openai-whisper is not installed: converter equivalence tests are skipped", stacklevel=1)


@pytest.fixture(scope="module")
def tiny_state():
    return whisper_state_dict(read_ct2_model(tiny_en_dir() / "model.bin"))


def test_reads_the_ct2_layout(tiny_state):
    dims, state = tiny_state
    assert dims == {
        "n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6, "n_audio_layer": 4,
        "n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384, "n_text_head": 6, "n_text_layer": 4,
    }  # fmt: skip
    assert all(v.dtype == np.float16 for v in state.values())
    assert state["encoder.blocks.0.attn.query.weight"].shape == (384, 384)
    assert state["decoder.blocks.3.cross_attn.value.bias"].shape == (384,)
    assert np.isfinite(state["decoder.token_embedding.weight"].astype(np.float32)).all()


def test_rejects_what_is_not_a_ct2_model(tmp_path):
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"\x06\x00\x00\x00garbage")
    with pytest.raises(WhisperExportError):
        read_ct2_model(bogus)


@needs_whisper
def test_names_match_openai_whisper_exactly(tiny_state):
    from whisper.model import ModelDimensions, Whisper

    dims, state = tiny_state
    expected = Whisper(ModelDimensions(**dims)).state_dict()
    assert set(state) == set(expected)
    assert all(tuple(state[k].shape) == tuple(v.shape) for k, v in expected.items())


@needs_whisper
@pytest.mark.slow
def test_both_backends_give_the_same_transcript(settings, speak):
    """Same weights, same 30 s window (openai-whisper's encoder takes nothing else), same words."""
    from assistant.speech.asr import recognizers

    fixed = settings.asr.model_copy(update={"fit_window": False})
    recognizer = recognizers.create("faster-whisper", fixed, "cpu", settings.cache_dir)
    openai = recognizers.create("whisper", settings.asr, "cpu", settings.cache_dir)
    assert (settings.cache_dir / "models" / "openai-whisper" / "tiny.en.pt").is_file()
    clips = [
        load_audio(SPEECH_DATA / "jfk" / "jfk.flac"),
        np.concatenate([silence(0.3), speak("Add eggs and bread to my shopping list."), silence(0.3)]),
    ]
    for audio in clips:
        a, b = recognizer.transcribe(audio), openai.transcribe(audio)
        assert words(a.text) == words(b.text)
        assert abs(a.confidence - b.confidence) < 0.1


@needs_whisper
def test_export_command(tmp_path):
    from typer.testing import CliRunner

    from assistant.cli import app

    out = tmp_path / "tiny.pt"
    result = CliRunner().invoke(app, ["models", "export-whisper", "tiny.en", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 70_000_000
    bad = CliRunner().invoke(app, ["models", "export-whisper", str(tmp_path)])
    assert bad.exit_code == 1 and "No model.bin" in bad.output
