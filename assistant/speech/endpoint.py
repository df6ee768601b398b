"""End-pointing that hears ahead and ends early when the turn is over: asked of a model and of the words.

Silence alone decides late: the detector waits `end_silence_ms` (500 ms) to be sure the speaker has
finished, because people pause inside a request ("set a timer for ... ten minutes"), and only then would
recognition start. The `Endpointer` spends that wait:

1. At the first ~100 ms pause it starts recognising the utterance so far in the background
   (`HeardAhead`); if the speaker does not go on, that is the request's transcript. One listener keeps at
   most one such transcription in flight: a pause while one still runs waits for it (a later pause
   replaces the waiting one, and one the speaker talked past is dropped), a full shared pool is tried
   again on the next chunk, and `reset()` cancels what has not started and drops what is running. So a
   stream of pauses (a hands-free page posting audio as fast as it can) costs one decoder at a time, and
   a listener that is no longer fed starts nothing new.
2. At the same pause it asks the end-of-turn model (`turn_model`, Smart Turn v3.2, see
   `assistant.speech.turn`; same bounds: one call in flight per listener, one process-wide pool) whether
   the turn is over. When the model says finished (probability >= `turn_threshold`) and the words heard
   ahead make a whole request (`looks_complete`: the pipeline's NLU is confident and the words do not
   trail off on "and", "for", "the", ...), the utterance ends after `turn_end_ms` of silence (~200 ms: the
   detector never ends sooner than the tail an utterance keeps). Otherwise (the model says unfinished, or
   the words trail off or cannot be placed) it gets the full `end_silence_ms`. Both must agree because
   each misjudges some pauses alone: the model, trained on people, calls a synthetic voice's "add milk
   and" finished, and the recogniser hears that fragment as "and Moke End", which does not trail off. And
   waiting for the words costs nothing: the turn needs the transcript anyway.
3. Without a verdict (no model, its pool busy, not answered yet, or failed), the words alone decide, as
   before the model: when they make a whole request (`looks_complete`), the utterance ends after
   `early_end_ms` (300 ms) of silence. Words that trail off, or that the NLU cannot place, get the full
   wait, so a speaker who pauses mid-request is not cut off.

The talk loop, the web app's hands-free mode and `assistant bench e2e` all listen through this class.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.speech.ahead import HeardAhead
from assistant.speech.types import SAMPLE_RATE
from assistant.speech.vad import FRAME, PAUSE_FRAMES, TAIL_FRAMES, EndOfSpeechDetector, Utterance

log = logging.getLogger(__name__)

# Words a request does not end on: the speaker is pausing mid-sentence ("add milk and ... eggs").
_TRAILING = (
    "and or but so then also plus with without for to from of in on at by about into onto than as "
    "the a an my your our their his her its some any every each "
    "is are was were am be been will would should could can do does did "
    "um uh er erm hmm ah like"
)
TRAILING_WORDS = frozenset(_TRAILING.split())
# "what is 12 times ...": an arithmetic operator after a number still waits for its other operand
_OPERATOR_END = re.compile(
    r"(?:\d|\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|half))\s+(?:times|minus|multiplied(?: by)?|divided(?: by)?|over|"
    r"to the power of)$"
)
_WORD = re.compile(r"[\w']+")
# the shortest silence an utterance can end on: it keeps this much tail, and every pause is offered by then
EARLIEST_END_MS = TAIL_FRAMES * FRAME * 1000 / SAMPLE_RATE
# the silence `pause()` needs before it offers the utterance so far: shorter, and the speaker went on
PAUSE_MS = PAUSE_FRAMES * FRAME * 1000 / SAMPLE_RATE


def trails_off(text: str) -> bool:
    """True when the words stop mid-request: nothing yet, a trailing comma or dash, or a word like 'and'."""
    stripped = text.strip()
    if not stripped or stripped.endswith((",", "-", "–", "—", "…", "...", ";", ":")):
        return True
    words = _WORD.findall(stripped.lower())
    return not words or words[-1] in TRAILING_WORDS or bool(_OPERATOR_END.search(" ".join(words)))


@dataclass(frozen=True)
class Heard:
    """One finished utterance, the transcription started for it at the pause (if any), how it ended, and
    what the end-of-turn model said at that pause (when it was asked and answered)."""

    utterance: Utterance
    heard_ahead: HeardAhead[Any] | None = None
    ended_early: bool = False
    turn_probability: float | None = None  # the model's probability that the turn was over
    turn_ms: float | None = None  # how long that call took (features and model)


class _AtPause:
    """Background work on the audio up to the current pause (an early transcription, the turn model's
    verdict), at most one in flight per listener: a pause while the last one still runs waits for it (a
    later pause replaces the waiting one, and one the speaker talked past is dropped), and a pool that
    refuses it (full) is tried again on the next chunk."""

    def __init__(self, start: Callable[[np.ndarray], HeardAhead[Any] | None]) -> None:
        self.start = start
        self.current: HeardAhead[Any] | None = None  # started for the current pause
        self.waiting: np.ndarray | None = None  # the current pause's audio, not started yet
        # the last one started, kept after drop() and take(): while it runs, no other starts
        self.started: HeardAhead[Any] | None = None

    def offer(self, audio: np.ndarray) -> None:
        """A new pause: the work for an earlier one is no longer wanted (the speaker went on after it)."""
        if self.current is not None:
            self.current.cancel()
        self.current, self.waiting = None, audio

    def try_start(self, speaker_went_on: bool) -> None:
        if self.waiting is None:
            return
        if speaker_went_on:
            self.waiting = None  # that pause's audio is not all the speaker said
            return
        if self.started is not None and self.started.in_flight():
            return  # one at a time per listener; tried again on the next chunk
        handle = self.start(self.waiting)
        if handle is None or handle.cancelled():
            return  # the shared pool is full; tried again on the next chunk
        self.current, self.started, self.waiting = handle, handle, None

    def take(self) -> HeardAhead[Any] | None:
        """The current pause's work, handed over; the slot is empty after."""
        current, self.current, self.waiting = self.current, None, None
        return current

    def drop(self) -> None:
        """Nothing here will be used: what waits never starts, what runs is dropped when it ends."""
        current = self.take()
        if current is not None:
            current.cancel()


def _matches_pause(utterance: Utterance, handle: HeardAhead[Any]) -> bool:
    """Did the utterance end at the pause this work was started for (the speaker did not go on)?"""
    return utterance.paused_samples == len(handle.audio) and handle.matches(utterance.audio)


class Endpointer:
    """Streaming end-of-speech detection with hearing ahead and early ends (see the module docstring)."""

    def __init__(
        self,
        detector: EndOfSpeechDetector,
        hear_ahead: Callable[[np.ndarray], HeardAhead[Any] | None] | None = None,
        looks_complete: Callable[[str], bool] | None = None,
        early_end_ms: int = 0,
        turn_model: Callable[[np.ndarray], HeardAhead[float] | None] | None = None,
        turn_threshold: float = 0.5,
        turn_end_ms: int = 150,
    ) -> None:
        """`hear_ahead(audio)` starts an early transcription and `turn_model(audio)` the end-of-turn model's
        call, both in the background; either may return None or a cancelled handle when it cannot start
        now (its shared pool is full): the pause is offered again on the next chunk."""
        self.detector = detector
        self.hear_ahead = hear_ahead  # looked up at each pause: a caller may wrap it
        self.looks_complete = looks_complete if hear_ahead is not None else None
        self.early_end_ms = early_end_ms
        self.turn_model = turn_model
        self.turn_threshold = turn_threshold
        self.turn_end_ms = turn_end_ms
        self._ahead = _AtPause(lambda audio: None if self.hear_ahead is None else self.hear_ahead(audio))
        self._turn = _AtPause(lambda audio: None if self.turn_model is None else self.turn_model(audio))
        self._complete: bool | None = None  # looks_complete of the current early transcript, once known
        self._turn_warned = False
        # one stream, one caller at a time: the web page's ticks and its start/stop can overlap
        self._lock = threading.Lock()

    @property
    def in_speech(self) -> bool:
        return self.detector.in_speech

    def reset(self) -> None:
        """Forget the stream so far: a waiting pause never starts, running work is dropped."""
        with self._lock:
            self.detector.reset()
            self._ahead.drop()
            self._turn.drop()
            self._complete = None

    def feed(self, chunk: np.ndarray) -> list[Heard]:
        """Add 16 kHz samples; returns the utterances that ended in this chunk (normally none or one)."""
        with self._lock:
            return self._feed(chunk)

    def flush(self) -> Heard | None:
        """End of the stream: whatever speech is being collected becomes an utterance."""
        with self._lock:
            utterance = self.detector.flush()
            return None if utterance is None else self._heard(utterance)

    def _feed(self, chunk: np.ndarray) -> list[Heard]:
        ended = self.detector.feed(chunk)
        if ended:
            return [self._heard(utterance) for utterance in ended]
        paused = self.detector.pause()
        if paused is not None:
            if self.hear_ahead is not None:
                self._ahead.offer(paused)
                self._complete = None
            if self.turn_model is not None:
                self._turn.offer(paused)
        went_on = self.detector.silence_ms < PAUSE_MS
        self._ahead.try_start(went_on)
        self._turn.try_start(went_on)
        if self._may_end_early():
            utterance = self.detector.end_now()
            if utterance is not None:
                return [self._heard(utterance, early=True)]
        return []

    def _heard(self, utterance: Utterance, early: bool = False) -> Heard:
        self._complete = None
        ahead, turn = self._ahead.take(), self._turn.take()
        if ahead is not None and not _matches_pause(utterance, ahead):
            ahead.cancel()
            ahead = None  # the speaker went on after that pause
        probability = turn_ms = None
        if turn is not None:
            if _matches_pause(utterance, turn) and turn.done():
                probability, turn_ms = self._probability(turn), turn.compute_ms
            turn.cancel()  # a verdict is only read here: a running one is dropped
        return Heard(utterance, ahead, early, probability, turn_ms)

    def _may_end_early(self) -> bool:
        silence = self.detector.silence_ms
        if silence < EARLIEST_END_MS:
            return False
        turn = self._turn.current
        # no verdict yet (no model, its pool busy, still running, or failed): the words alone decide, so a
        # model that is late on a loaded machine never makes a turn end later than it would without it
        probability = None if turn is None or not turn.done() else self._probability(turn)
        if probability is None:
            return (
                self.looks_complete is not None
                and 0 < self.early_end_ms <= silence
                and self._words_complete()
            )
        if probability < self.turn_threshold or silence < self.turn_end_ms:
            return False  # unfinished: the full silence window
        if self.hear_ahead is None:
            return True  # nothing is heard ahead: the model alone
        return self._words_complete()

    def _probability(self, turn: HeardAhead[float]) -> float | None:
        """The model's verdict; None when it was cancelled or failed (said once, then the words decide)."""
        try:
            return float(turn.result(timeout=0))
        except Exception as exc:  # a missing or broken model must not stop listening
            if not self._turn_warned and not turn.cancelled():
                self._turn_warned = True
                log.warning(
                    "The end-of-turn model failed (%s); the words alone decide when a turn ends.", exc
                )
            return None

    def _words_complete(self) -> bool:
        """Do the words heard ahead at this pause make a whole request (`looks_complete`, or at least not
        trailing off when there is none)? False while they are not in, and when none were found."""
        ahead = self._ahead.current
        if ahead is None or not ahead.done():
            return False
        if self._complete is None:
            complete = self.looks_complete or (lambda words: not trails_off(words))
            try:
                self._complete = bool(complete(ahead.result().text))
            except Exception:  # no transcript (e.g. no words found): the normal silence window decides
                self._complete = False
        return self._complete
