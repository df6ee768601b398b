"""The end-pointer: hearing ahead at pauses and ending whole requests early, on real speech."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.speech.ahead import HeardAhead
from assistant.speech.endpoint import Endpointer, trails_off
from assistant.speech.vad import EndOfSpeechDetector
from tests.speech.conftest import silence, words


@pytest.mark.parametrize(
    ("text", "trailing"),
    [
        ("Set a timer for ten minutes.", False),
        ("What time is it?", False),
        ("add milk and", True),
        ("Add milk and...", True),
        ("Set a timer for", True),
        ("Remind me to call the", True),
        ("Add milk,", True),
        ("um", True),
        ("", True),
        ("   ", True),
        ("What is twelve times seven", False),
        ("¿Qué hora es?", False),
    ],
)
def test_trails_off(text: str, trailing: bool) -> None:
    assert trails_off(text) is trailing


def listen(listener: Endpointer, audio: np.ndarray, step: int = 512):
    heard = []
    for i in range(0, len(audio), step):
        heard.extend((h, i + step) for h in listener.feed(audio[i : i + step]))
        if heard:
            break
    return heard


pytestmark_slow = pytest.mark.slow


@pytestmark_slow
def test_a_whole_request_ends_early_on_the_early_transcript(recognizer, speak):
    speech = speak("What time is it?")
    stream = np.concatenate([silence(0.4), speech, silence(1.5)])
    end_of_speech = 0.4 * 16_000 + len(speech)

    def hear_ahead(audio: np.ndarray) -> HeardAhead:
        ahead = HeardAhead(audio, recognizer.transcribe)
        ahead.result(timeout=60)  # as if recognition were instant: the early end depends only on silence
        return ahead

    seen: list[str] = []

    def complete(text: str) -> bool:
        seen.append(text)
        return not trails_off(text)

    detector = EndOfSpeechDetector(end_silence_ms=800)
    early = listen(Endpointer(detector, hear_ahead, complete, early_end_ms=300), stream)
    full = listen(Endpointer(EndOfSpeechDetector(end_silence_ms=800), hear_ahead), stream)
    (heard, at), (plain, plain_at) = early[0], full[0]
    assert heard.ended_early and not plain.ended_early
    assert words(seen[-1]) == words("What time is it?")
    assert np.array_equal(heard.utterance.audio, plain.utterance.audio), "same audio, heard sooner"
    assert heard.heard_ahead is not None and heard.heard_ahead.matches(heard.utterance.audio)
    # ended about 0.5 s of audio earlier than the 800 ms window would have
    assert (plain_at - at) / 16_000 > 0.3 and at > end_of_speech


@pytestmark_slow
def test_words_that_trail_off_get_the_full_wait(recognizer, speak):
    stream = np.concatenate([silence(0.4), speak("Add milk and"), silence(1.5)])
    listener = Endpointer(
        EndOfSpeechDetector(end_silence_ms=800),
        lambda audio: HeardAhead(audio, recognizer.transcribe),
        lambda text: not trails_off(text),
        early_end_ms=300,
    )
    ((heard, _),) = listen(listener, stream)
    assert not heard.ended_early and heard.heard_ahead is not None


@pytestmark_slow
def test_a_failed_early_transcription_never_ends_early(speak):
    def broken(audio: np.ndarray) -> HeardAhead:
        return HeardAhead(audio, lambda _: (_ for _ in ()).throw(RuntimeError("no model")))

    stream = np.concatenate([silence(0.4), speak("What time is it?"), silence(1.5)])
    listener = Endpointer(EndOfSpeechDetector(), broken, lambda text: True, early_end_ms=300)
    ((heard, _),) = listen(listener, stream)
    assert not heard.ended_early
    assert heard.heard_ahead is not None  # the turn gets it, and raises its error as a fresh call would
