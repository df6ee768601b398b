"""Hearing ahead: transcribe during the end-of-speech wait instead of after it.

The end-of-speech detector must hear ~0.5 s of silence before it declares a request over, and speech
recognition would only start then. But after ~100 ms of silence the words are already all there if the
speaker does not go on (`EndOfSpeechDetector.pause`), so recognition can start at that point, in the
background, and is usually done by the time the wait ends. If the speaker goes on, the guess is not used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

import numpy as np

from assistant.speech.types import SAMPLE_RATE

T = TypeVar("T")
MAX_SILENCE_AFTER_S = 0.5  # more audio after the early transcript than this, and it is not used


class HeardAhead(Generic[T]):
    """One transcription started early, for one piece of audio; use it only for that same audio."""

    def __init__(self, audio: np.ndarray, transcribe: Callable[[np.ndarray], T]) -> None:
        self.audio = audio
        self.compute_ms: float | None = None
        self._future: Future[T] = Future()
        # not a daemon: exiting mid-transcription would tear the native decoder down under the thread
        self._thread = threading.Thread(target=self._run, args=(transcribe,), name="hear-ahead")
        self._thread.start()

    def _run(self, transcribe: Callable[[np.ndarray], T]) -> None:
        start = time.perf_counter()
        try:
            result = transcribe(self.audio)
        except BaseException as exc:  # handed to whoever asks for the result, as the call itself would
            self.compute_ms = (time.perf_counter() - start) * 1000
            self._future.set_exception(exc)
            return
        self.compute_ms = (time.perf_counter() - start) * 1000
        self._future.set_result(result)

    def matches(self, audio: object) -> bool:
        """True when `audio` starts with exactly the audio this transcription heard, followed by at most
        `MAX_SILENCE_AFTER_S`. The caller vouches that what follows is silence (the end-pointer checks
        that the speaker did not go on, see `Utterance.paused_samples`)."""
        if audio is self.audio:
            return True
        if not isinstance(audio, np.ndarray) or audio.ndim != 1:
            return False
        extra = len(audio) - len(self.audio)
        return 0 <= extra <= MAX_SILENCE_AFTER_S * SAMPLE_RATE and bool(
            np.array_equal(audio[: len(self.audio)], self.audio)
        )

    def result(self, timeout: float | None = None) -> T:
        """Wait for the transcription; raises what the transcription raised."""
        return self._future.result(timeout)

    def done(self) -> bool:
        return self._future.done()


def use_or_transcribe(
    ahead: HeardAhead[T] | None, audio: np.ndarray, transcribe: Callable[[], T]
) -> tuple[T, bool]:
    """The early transcript when it was made from this audio, else `transcribe()`; (result, was_ahead)."""
    if ahead is not None and ahead.matches(audio):
        return ahead.result(), True
    return transcribe(), False
