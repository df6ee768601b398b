"""The spoken requests `bench e2e` says to the assistant: espeak-ng voices them once (cached as WAV), two
are real LJSpeech recordings when ../shared/data is there, and each is put between the silences of a
quiet room the way a microphone would hear it."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.speech.types import SAMPLE_RATE

LEAD_SILENCE_S = 0.5
TAIL_SILENCE_S = 1.5  # longer than the detector's end-of-speech window (audio.end_silence_ms)
REQUEST_VOICE = "en-us+f3"  # espeak-ng: not the Piper reply voice
VOICED_LEVEL = 0.02  # |sample| above this (-34 dBFS) counts as voiced when finding the request's end


@dataclass(frozen=True)
class SpokenRequest:
    id: str
    kind: str  # "skill" or "open"
    text: str
    recording: str | None = None  # a real recording under the speech data folder, instead of espeak-ng


# Real people's speech, where it fits: two short read sentences from LJSpeech, said to the assistant as if
# out of the blue (it has to answer them openly). Used when ../shared/data/speech is there.
REAL_REQUESTS = [
    SpokenRequest(
        "real-lj-0002", "open", "in being comparatively modern.", "ljspeech_dev/wavs/LJ001-0002.flac"
    ),
    SpokenRequest("real-lj-0008", "open", "has never been surpassed.", "ljspeech_dev/wavs/LJ001-0008.flac"),
]


REQUESTS = [
    SpokenRequest("timer", "skill", "Set a timer for ten minutes."),
    SpokenRequest("list-add", "skill", "Add milk to my shopping list."),
    SpokenRequest("list-read", "skill", "What is on my shopping list?"),
    SpokenRequest("time", "skill", "What time is it?"),
    SpokenRequest("arithmetic", "skill", "What is twelve times seven?"),
    SpokenRequest("fact-set", "skill", "Remember that my favourite colour is green."),
    SpokenRequest("fact-recall", "skill", "What is my favourite colour?"),
    SpokenRequest("open-1", "open", "Why is the sky blue?"),
    SpokenRequest("open-2", "open", "Give me an idea for dinner tonight."),
    *REAL_REQUESTS,
]


class BenchError(RuntimeError):
    """The benchmark cannot run (espeak-ng missing); the message says what to install."""


def synthesise_requests(
    cache_dir: Path, voice: str = REQUEST_VOICE, speech_data: Path | None = None
) -> dict[str, np.ndarray]:
    """16 kHz request audio: synthesised once with espeak-ng and cached as WAV under cache_dir, or read
    from the real recordings under `speech_data` (skipped when that folder is not there)."""
    import soundfile as sf

    from assistant.audio import load_audio, resample, write_wav
    from assistant.bench.asr import data_dir

    binary = shutil.which("espeak-ng")
    folder = Path(cache_dir).expanduser() / "bench" / "e2e"
    recordings = speech_data or data_dir()
    out: dict[str, np.ndarray] = {}
    for request in REQUESTS:
        if request.recording is not None:
            if (recordings / request.recording).is_file():
                out[request.id] = load_audio(recordings / request.recording)
            continue
        key = hashlib.sha1(f"{voice}|{request.text}".encode()).hexdigest()[:12]
        path = folder / f"{request.id}-{key}.wav"
        if not path.is_file():
            if binary is None:
                raise BenchError(
                    "The e2e benchmark speaks its requests with espeak-ng: apt-get install espeak-ng."
                )
            wav = subprocess.run(
                [binary, "--stdout", "-v", voice, "--", request.text],
                capture_output=True,
                check=True,
                timeout=60,
            ).stdout
            samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
            write_wav(path, resample(samples, int(rate), SAMPLE_RATE), SAMPLE_RATE)
        samples, _ = sf.read(str(path), dtype="float32")
        out[request.id] = samples
    return out


def with_room_silence(speech: np.ndarray, seed: int = 0) -> tuple[np.ndarray, int]:
    """Speech between silences with faint noise (a quiet room); returns (audio, index after last voiced)."""
    noise = np.random.default_rng(seed)
    lead = (noise.standard_normal(int(LEAD_SILENCE_S * SAMPLE_RATE)) * 1e-3).astype(np.float32)
    tail = (noise.standard_normal(int(TAIL_SILENCE_S * SAMPLE_RATE)) * 1e-3).astype(np.float32)
    voiced = np.flatnonzero(np.abs(speech) > VOICED_LEVEL)
    last = int(voiced[-1]) + 1 if voiced.size else len(speech)
    return np.concatenate([lead, speech.astype(np.float32), tail]), len(lead) + last
