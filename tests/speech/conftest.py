"""Shared speech fixtures: one settings object, models loaded once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings, load_settings
from assistant.speech.types import SAMPLE_RATE

SPEECH_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech"


@pytest.fixture(scope="session", autouse=True)
def speech_cache_dir(tmp_path_factory) -> Path:
    """A private cache dir for converted/assembled models, shared by settings and the CLI (via env)."""
    folder = tmp_path_factory.mktemp("speech-cache")
    old = os.environ.get("ASSISTANT_CACHE_DIR")
    os.environ["ASSISTANT_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("ASSISTANT_CACHE_DIR", None)
    else:
        os.environ["ASSISTANT_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def settings(speech_cache_dir) -> Settings:
    return load_settings({"cache_dir": str(speech_cache_dir), "tts": {"deterministic": True}})


@pytest.fixture(scope="session")
def recognizer(settings):
    from assistant.speech.asr import load_recognizer

    return load_recognizer(settings)


@pytest.fixture(scope="session")
def synth(settings):
    from assistant.speech.tts import load_synthesizer

    return load_synthesizer(settings)


@pytest.fixture(scope="session")
def speak(synth):
    """text -> 16 kHz float32 audio spoken by the default Piper voice (deterministic)."""
    from assistant.audio import resample
    from assistant.speech.tts import synthesize

    cache: dict[str, np.ndarray] = {}

    def _speak(text: str) -> np.ndarray:
        if text not in cache:
            cache[text] = resample(synthesize(synth, text), synth.sample_rate, SAMPLE_RATE)
        return cache[text]

    return _speak


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def words(text: str) -> list[str]:
    """Words after Whisper's English normalisation ("ten" and "10" are the same word)."""
    from assistant.bench.wer import whisper_normalizer

    return whisper_normalizer()[1](text).split()
