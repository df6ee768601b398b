"""Hearing ahead: transcribe during the end-of-speech wait instead of after it.

The end-of-speech detector must hear ~0.5 s of silence before it declares a request over, and speech
recognition would only start then. But after ~100 ms of silence the words are already all there if the
speaker does not go on (`EndOfSpeechDetector.pause`), so recognition can start at that point, in the
background, and is usually done by the time the wait ends. If the speaker goes on, the guess is not used.

Hearing ahead is only an optimisation, so its cost is bounded and skipping it is always correct: every
transcription started early runs on one small shared pool (`HearAheadPool`, `MAX_HEARING_AHEAD` at once
across all listeners, nothing queued behind them), a full pool starts nothing (the turn then transcribes
its audio at the end, as it would without hearing ahead), and `HeardAhead.cancel` drops one whose audio is
no longer wanted. One listener keeps at most one in flight (`assistant.speech.endpoint.Endpointer`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, InvalidStateError, ThreadPoolExecutor
from contextlib import suppress
from typing import Any, Generic, TypeVar

import numpy as np

from assistant.speech.types import SAMPLE_RATE

T = TypeVar("T")
MAX_SILENCE_AFTER_S = 0.5  # more audio after the early transcript than this, and it is not used
# Early transcriptions in flight at once, across all listeners. They share one recogniser (one lock), so
# more would only queue behind each other and delay everyone's turns: one decoding, one ready behind it.
MAX_HEARING_AHEAD = 2


class HearAheadPool:
    """At most `workers` early transcriptions in flight at once, on at most `workers` threads; a call
    beyond that is refused at once, not queued: hearing ahead only pays when it starts now, and a queue is
    what let a flood of pauses pile up minutes of work.

    Worker threads are not daemons (a `ThreadPoolExecutor` joins them at exit): exiting mid-transcription
    would tear the native decoder down under the thread."""

    def __init__(
        self,
        workers: int = MAX_HEARING_AHEAD,
        thread_name_prefix: str = "hear-ahead",
        initializer: Callable[[], None] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"a hear-ahead pool needs at least one worker, not {workers}")
        self.workers = workers
        self._thread_name_prefix = thread_name_prefix
        self._initializer = initializer
        self._lock = threading.Lock()
        self._in_flight = 0
        self._executor: ThreadPoolExecutor | None = None  # made on first use: importing starts nothing

    @property
    def in_flight(self) -> int:
        """Calls submitted and not finished (queued for a worker or running)."""
        with self._lock:
            return self._in_flight

    def try_submit(self, fn: Callable[[], Any]) -> Future[Any] | None:
        """Run `fn` on a worker, or None (and nothing runs) when `workers` calls are already in flight."""
        with self._lock:
            if self._in_flight >= self.workers:
                return None
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self.workers, thread_name_prefix=self._thread_name_prefix, initializer=self._initializer
                )
            self._in_flight += 1
            try:
                task = self._executor.submit(fn)
            except RuntimeError:  # the interpreter is shutting down: no new work
                self._in_flight -= 1
                return None
        task.add_done_callback(self._finished)
        return task

    def _finished(self, _: Future[Any]) -> None:
        with self._lock:
            self._in_flight -= 1


_shared_pool = HearAheadPool()


def shared_pool() -> HearAheadPool:
    """The pool every `HeardAhead` uses unless given another: one bound for the whole process."""
    return _shared_pool


class HeardAhead(Generic[T]):
    """One transcription started early, for one piece of audio; use it only for that same audio.

    Made while the pool is full, it starts nothing and is born cancelled: it matches no audio, so the
    turn transcribes its own (`use_or_transcribe`)."""

    def __init__(
        self, audio: np.ndarray, transcribe: Callable[[np.ndarray], T], pool: HearAheadPool | None = None
    ) -> None:
        self.audio = audio
        self.compute_ms: float | None = None
        self._future: Future[T] = Future()  # the result; never marked running, so cancel() always works
        self._task = (pool or _shared_pool).try_submit(lambda: self._run(transcribe))
        if self._task is None:
            self._future.cancel()

    def _run(self, transcribe: Callable[[np.ndarray], T]) -> None:
        if self._future.cancelled():  # cancelled before a worker took it: never started
            return
        start = time.perf_counter()
        try:
            result = transcribe(self.audio)
        except BaseException as exc:  # handed to whoever asks for the result, as the call itself would
            self.compute_ms = (time.perf_counter() - start) * 1000
            with suppress(InvalidStateError):  # cancelled while it ran: dropped
                self._future.set_exception(exc)
            return
        self.compute_ms = (time.perf_counter() - start) * 1000
        with suppress(InvalidStateError):  # cancelled while it ran: the result is dropped
            self._future.set_result(result)

    def cancel(self) -> None:
        """Nobody will use this transcription: it does not start if it has not, and a running one's result
        is dropped when it ends (the native decoder cannot be interrupted mid-call)."""
        self._future.cancel()
        if self._task is not None:
            self._task.cancel()  # only succeeds while it waits for a worker

    def cancelled(self) -> bool:
        """True when it was refused (pool full) or cancelled before its result was in."""
        return self._future.cancelled()

    def in_flight(self) -> bool:
        """True while its transcription is waiting for or using a worker, even after `cancel()`: the
        compute it costs is still being spent."""
        return self._task is not None and not self._task.done()

    def matches(self, audio: object) -> bool:
        """True when `audio` starts with exactly the audio this transcription heard, followed by at most
        `MAX_SILENCE_AFTER_S`. The caller vouches that what follows is silence (the end-pointer checks
        that the speaker did not go on, see `Utterance.paused_samples`). A cancelled one matches nothing."""
        if self._future.cancelled():
            return False
        if audio is self.audio:
            return True
        if not isinstance(audio, np.ndarray) or audio.ndim != 1:
            return False
        extra = len(audio) - len(self.audio)
        return 0 <= extra <= MAX_SILENCE_AFTER_S * SAMPLE_RATE and bool(
            np.array_equal(audio[: len(self.audio)], self.audio)
        )

    def result(self, timeout: float | None = None) -> T:
        """Wait for the transcription; raises what the transcription raised (`CancelledError` when it
        was cancelled or refused)."""
        return self._future.result(timeout)

    def done(self) -> bool:
        """True once the result (or error) is in, or it was cancelled or refused."""
        return self._future.done()


def use_or_transcribe(
    ahead: HeardAhead[T] | None, audio: np.ndarray, transcribe: Callable[[], T]
) -> tuple[T, bool]:
    """The early transcript when it was made from this audio, else `transcribe()`; (result, was_ahead)."""
    if ahead is not None and ahead.matches(audio):
        try:
            return ahead.result(), True
        except CancelledError:  # cancelled between the check and the wait: hear it now instead
            pass
    return transcribe(), False
