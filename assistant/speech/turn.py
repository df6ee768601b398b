"""End of turn by a model: has the speaker finished, or only paused mid-sentence?

Silence alone has to wait long (`audio.end_silence_ms`) to be sure, because people pause inside a request
("set a timer for ... ten minutes"). Smart Turn v3.2 (Daily, BSD-2-Clause) is a small audio classifier (a
Whisper-tiny-sized encoder, int8) trained to tell a finished turn from such a pause by how it sounds
(intonation, drawn-out words) as well as by the words. It ships inside the `pipecat-ai` wheel, installed
`--no-deps` (setup.sh): we read its ONNX file from the package folder (found without importing pipecat)
and run it with onnxruntime on one thread. Nothing is downloaded.

Its input is what pipecat's own `LocalSmartTurnAnalyzerV3` gives it: the last 8 s of 16 kHz audio
(zeros in front when shorter), normalised to zero mean and unit variance over those 8 s, as Whisper-style
log-mel features `[batch, 80, 800]` (faster-whisper's feature extractor computes the same numbers as
pipecat's vendored copy of transformers' extractor). Its output is the probability that the turn is over.

`assistant.speech.endpoint.Endpointer` asks it at the speaker's first pause, together with what the
words heard ahead say. The call (~75-100 ms of one core here) runs in the background on `turn_pool()`: at
most one in flight in the process, on a thread of lower CPU priority, because on two cores it would
otherwise slow down the early transcription started at the same pause, which the turn waits for (measured
in `bench e2e`'s paired run: the recogniser took ~90 ms longer beside it at equal priority).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from assistant.offline import ModelNotAvailableError
from assistant.speech.ahead import HearAheadPool, HeardAhead
from assistant.speech.types import SAMPLE_RATE

MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
MODEL_DIR = ("audio", "turn", "smart_turn", "data")  # inside the pipecat package
WINDOW_S = 8  # the model hears the last 8 s
WINDOW = WINDOW_S * SAMPLE_RATE
N_MELS = 80
NORM_EPS = 1e-7  # transformers' zero-mean unit-variance normalisation
LOW_PRIORITY = 10  # nice value of the model's worker thread: about a tenth of a core against busy ones
MISSING = (
    "The end-of-turn model (Smart Turn v3.2) ships inside the pipecat-ai package, which is not installed "
    "here. Install it without its dependencies: `pip install --no-deps pipecat-ai==1.14.0` (scripts/setup.sh "
    "does this), or turn it off with the setting audio.turn_model = false."
)


def model_path() -> Path:
    """Where the Smart Turn ONNX file is, or `ModelNotAvailableError` saying how to install it."""
    spec = importlib.util.find_spec("pipecat")  # finds the folder; importing pipecat would need its deps
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailableError(MISSING)
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*MODEL_DIR, MODEL_FILE)
    if not path.is_file():
        raise ModelNotAvailableError(f"{MISSING} (pipecat-ai is there, but not {path})")
    return path


def last_window(audio: np.ndarray) -> np.ndarray:
    """The last 8 s, with zeros in front when the audio is shorter (as pipecat pads it)."""
    if len(audio) >= WINDOW:
        return audio[-WINDOW:]
    return np.concatenate([np.zeros(WINDOW - len(audio), dtype=np.float32), audio])


class TurnDetector:
    """Smart Turn v3.2 on onnxruntime. Thread-safe: one session, each call on the caller's thread.

    `last_ms`, `calls` and `total_ms` time the calls (features and model together)."""

    def __init__(self, path: Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort
        from faster_whisper.feature_extractor import FeatureExtractor

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path or model_path()
        self._session = ort.InferenceSession(
            str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self._mel = FeatureExtractor(feature_size=N_MELS, sampling_rate=SAMPLE_RATE, chunk_length=WINDOW_S)
        self._stats = threading.Lock()
        self.last_ms = 0.0
        self.calls = 0
        self.total_ms = 0.0

    def features(self, audio: np.ndarray) -> np.ndarray:
        """`[80, 800]` log-mel features of the last 8 s, exactly as the model was trained on them."""
        window = last_window(np.asarray(audio, dtype=np.float32).reshape(-1))
        normalised = (window - window.mean()) / np.sqrt(window.var() + NORM_EPS)
        return self._mel(normalised, padding=0)  # 801 centred frames, the last dropped: 800

    def probability_done(self, audio: np.ndarray) -> float:
        """The probability that the speaker has finished their turn, from 16 kHz mono float samples that end
        where the speaker paused (a little silence after the last word is expected)."""
        samples = np.asarray(audio)
        if samples.ndim != 1 or samples.size == 0:
            raise ValueError(f"The end-of-turn model needs 1-D 16 kHz samples, not shape {samples.shape}.")
        if not np.issubdtype(samples.dtype, np.floating) or not np.isfinite(samples).all():
            raise ValueError("The end-of-turn model needs finite float samples (16 kHz, in [-1, 1]).")
        start = time.perf_counter()
        features = self.features(samples)
        (probability,) = self._session.run(None, {self._input: features[None]})[0].reshape(-1)
        elapsed = (time.perf_counter() - start) * 1000
        with self._stats:
            self.last_ms = elapsed
            self.calls += 1
            self.total_ms += elapsed
        return float(probability)


_loaded: TurnDetector | None = None
_load_lock = threading.Lock()


def load_turn_detector() -> TurnDetector:
    """The process's Smart Turn model, loaded once (about 0.15 s) and shared by every listener."""
    global _loaded
    with _load_lock:
        if _loaded is None:
            _loaded = TurnDetector()
        return _loaded


def _yield_to_recognition() -> None:
    """Run this worker thread at the lowest CPU priority (Linux: a thread's own nice value). The early
    transcription started at the same pause is what the turn waits for; on a machine with few cores the
    model must not slow it down, and it only needs the cycles the recogniser leaves."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY)


# the hear-ahead pool's bound for the turn model: a call beyond it is refused at once (the words alone
# then decide), on a low-priority thread of its own name
_pool = HearAheadPool(workers=1, thread_name_prefix="turn-model", initializer=_yield_to_recognition)


def turn_pool() -> HearAheadPool:
    """One call at a time in the whole process: a call takes ~75 ms of one core, and a pause that finds
    the pool busy is tried again on the next chunk."""
    return _pool


def ask_turn_model(audio: np.ndarray) -> HeardAhead[float]:
    """Start Smart Turn on the audio up to a pause, in the background; the handle's `result()` is the
    probability that the turn is over. Born cancelled when the pool is busy. The model loads on the worker,
    so a first load never holds up the caller (the web page's per-tick handler)."""
    return HeardAhead(audio, lambda samples: load_turn_detector().probability_done(samples), turn_pool())
