"""End-pointing that hears ahead and ends early when the words already make a whole request.

Silence alone decides late: the detector waits `end_silence_ms` (500 ms) to be sure the speaker has
finished, and only then would recognition start. The `Endpointer` spends that wait:

1. At the first ~100 ms pause it starts recognising the utterance so far in the background
   (`HeardAhead`); if the speaker does not go on, that is the request's transcript.
2. When those words make a whole request (`looks_complete`: the pipeline's NLU is confident and the words
   do not trail off on "and", "for", "the", ...), the utterance ends after `early_end_ms` (300 ms) of
   silence instead of `end_silence_ms`. Words that trail off, or that the NLU cannot place, get the full
   wait, so a speaker who pauses mid-request is not cut off.

The talk loop, the web app's hands-free mode and `assistant bench e2e` all listen through this class.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.speech.ahead import HeardAhead
from assistant.speech.types import SAMPLE_RATE
from assistant.speech.vad import FRAME, TAIL_FRAMES, EndOfSpeechDetector, Utterance

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


def trails_off(text: str) -> bool:
    """True when the words stop mid-request: nothing yet, a trailing comma or dash, or a word like 'and'."""
    stripped = text.strip()
    if not stripped or stripped.endswith((",", "-", "–", "—", "…", "...", ";", ":")):
        return True
    words = _WORD.findall(stripped.lower())
    return not words or words[-1] in TRAILING_WORDS or bool(_OPERATOR_END.search(" ".join(words)))


@dataclass(frozen=True)
class Heard:
    """One finished utterance, the transcription started for it at the pause (if any), and how it ended."""

    utterance: Utterance
    heard_ahead: HeardAhead[Any] | None = None
    ended_early: bool = False


class Endpointer:
    """Streaming end-of-speech detection with hearing ahead and early ends (see the module docstring)."""

    def __init__(
        self,
        detector: EndOfSpeechDetector,
        hear_ahead: Callable[[np.ndarray], HeardAhead[Any]] | None = None,
        looks_complete: Callable[[str], bool] | None = None,
        early_end_ms: int = 0,
    ) -> None:
        self.detector = detector
        self.hear_ahead = hear_ahead
        self.looks_complete = looks_complete if hear_ahead is not None else None
        self.early_end_ms = early_end_ms
        self._ahead: HeardAhead[Any] | None = None
        self._complete: bool | None = None  # looks_complete of the current early transcript, once known

    @property
    def in_speech(self) -> bool:
        return self.detector.in_speech

    def reset(self) -> None:
        self.detector.reset()
        self._ahead, self._complete = None, None

    def feed(self, chunk: np.ndarray) -> list[Heard]:
        """Add 16 kHz samples; returns the utterances that ended in this chunk (normally none or one)."""
        ended = self.detector.feed(chunk)
        if ended:
            return [self._heard(utterance) for utterance in ended]
        paused = self.detector.pause()
        if paused is not None and self.hear_ahead is not None:
            self._ahead, self._complete = self.hear_ahead(paused), None
        if self._may_end_early():
            utterance = self.detector.end_now()
            if utterance is not None:
                return [self._heard(utterance, early=True)]
        return []

    def flush(self) -> Heard | None:
        """End of the stream: whatever speech is being collected becomes an utterance."""
        utterance = self.detector.flush()
        return None if utterance is None else self._heard(utterance)

    def _heard(self, utterance: Utterance, early: bool = False) -> Heard:
        ahead, self._ahead, self._complete = self._ahead, None, None
        if ahead is not None and not (
            utterance.paused_samples == len(ahead.audio) and ahead.matches(utterance.audio)
        ):
            ahead = None  # the speaker went on after that pause
        return Heard(utterance, ahead, early)

    def _may_end_early(self) -> bool:
        if self.looks_complete is None or self._ahead is None or self.early_end_ms <= 0:
            return False
        if self.detector.silence_ms < max(self.early_end_ms, EARLIEST_END_MS) or not self._ahead.done():
            return False
        if self._complete is None:
            try:
                self._complete = self.looks_complete(self._ahead.result().text)
            except Exception:  # no transcript (e.g. no words found): the normal silence window decides
                self._complete = False
        return self._complete
