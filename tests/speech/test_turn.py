"""End of turn by a model: Smart Turn v3.2 on real speech (the offline Piper voice), alone and in the
end-pointer.

The requests are said the way `bench e2e` says its paused ones: Piper speaks the whole sentence with a
comma where the speaker pauses (so the words before it sound unfinished, as a person's would), and the gap
it leaves there is stretched to a real pause. The model and the recogniser are asked synchronously here
(as if they were instant), so what ends an utterance depends only on the audio, never on this machine's
speed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from assistant.bench.e2e import with_pause
from assistant.speech.ahead import HearAheadPool, HeardAhead
from assistant.speech.endpoint import Endpointer, Heard
from assistant.speech.types import SAMPLE_RATE
from assistant.speech.vad import FRAME, EndOfSpeechDetector
from tests.speech.conftest import silence, words

pytestmark = pytest.mark.slow
GUARD_S = 60.0  # a hang guard for the background calls, not a speed check


@pytest.fixture(scope="module")
def turn() -> Any:
    from assistant.speech.turn import load_turn_detector

    return load_turn_detector()


def pauses(audio: np.ndarray) -> list[np.ndarray]:
    """The audio the end-pointer hands the model: the utterance so far at each ~100 ms pause."""
    detector = EndOfSpeechDetector(end_silence_ms=1000)
    offered = []
    for i in range(0, len(audio), FRAME):
        detector.feed(audio[i : i + FRAME])
        paused = detector.pause()
        if paused is not None:
            offered.append(paused)
    return offered


def stream(speech: np.ndarray) -> np.ndarray:
    return np.concatenate([silence(0.4), speech, silence(1.5)])


def test_features_are_the_ones_pipecat_feeds_the_model(turn: Any, speak: Callable[[str], np.ndarray]) -> None:
    """Same numbers as pipecat's own (numpy) feature code, loaded from the wheel without importing pipecat."""
    from assistant.speech.turn import last_window, model_path

    source = model_path().parents[1] / "_whisper_features.py"
    spec = importlib.util.spec_from_file_location("pipecat_whisper_features", source)
    assert spec is not None and spec.loader is not None
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    short, long = speak("Set a timer for ten minutes."), np.tile(speak("What time is it?"), 12)
    assert len(short) < 8 * SAMPLE_RATE < len(long)  # zeros in front, and the last 8 s
    for audio in (short, long):
        ours = turn.features(audio)
        theirs = reference.compute_whisper_log_mel_features(last_window(audio), do_normalize=True)
        assert ours.shape == theirs.shape == (80, 800) and ours.dtype == np.float32
        assert np.abs(ours - theirs).max() < 1e-3


@pytest.mark.parametrize(
    "text", ["Set a timer for, ten minutes.", "Remember that my favourite colour is, green."]
)
def test_smart_turn_hears_a_pause_mid_request_and_the_end_of_it(
    turn: Any, speak: Callable[[str], np.ndarray], text: str
) -> None:
    mid, end = pauses(stream(with_pause(speak(text), 0.4)))
    calls = turn.calls
    assert turn.probability_done(mid) < 0.5, f"{text.split(',')[0]!r} ... is not a finished turn"
    assert turn.probability_done(end) > 0.9, "the whole request is"
    assert turn.calls == calls + 2 and turn.last_ms > 0


def test_the_finished_request_alone_is_done(turn: Any, speak: Callable[[str], np.ndarray]) -> None:
    (end,) = pauses(stream(speak("Set a timer for five minutes.")))
    assert turn.probability_done(end) > 0.9


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (np.zeros(0, dtype=np.float32), "1-D"),
        (np.zeros((2, 16_000), dtype=np.float32), "1-D"),
        (np.full(16_000, np.nan, dtype=np.float32), "finite float"),
        (np.zeros(16_000, dtype=np.int16), "finite float"),
    ],
)
def test_bad_audio_gets_a_clear_message(turn: Any, audio: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        turn.probability_done(audio)


def test_a_missing_model_is_a_clear_error_and_listening_goes_on_without_it(
    monkeypatch: pytest.MonkeyPatch, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from assistant.listening import Listening
    from assistant.offline import ModelNotAvailableError
    from assistant.speech import turn as turn_module

    monkeypatch.setattr(turn_module, "MODEL_FILE", "not-there.onnx")
    with pytest.raises(ModelNotAvailableError, match="pip install --no-deps pipecat-ai"):
        turn_module.model_path()

    def turn_model(settings: Any) -> Any:
        return Listening(SimpleNamespace(settings=settings)).endpointer().turn_model  # type: ignore[arg-type]

    assert turn_model(settings) is None and "pipecat-ai" in caplog.text
    monkeypatch.undo()
    assert turn_model(settings) is not None
    off = settings.model_copy(update={"audio": settings.audio.model_copy(update={"turn_model": False})})
    assert turn_model(off) is None


def test_the_model_runs_one_call_at_a_time_on_its_own_thread() -> None:
    from assistant.speech.turn import ask_turn_model, turn_pool

    gate = threading.Event()
    blocked = turn_pool().try_submit(lambda: gate.wait(GUARD_S))
    assert blocked is not None
    try:
        refused = ask_turn_model(silence(1.0))
        assert refused.cancelled() and not refused.in_flight()  # busy: nothing queued behind it
        assert sum(t.name.startswith("turn-model") for t in threading.enumerate()) == 1
    finally:
        gate.set()
        blocked.result(timeout=GUARD_S)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_the_model_yields_the_cpu_to_the_recogniser() -> None:
    """The early transcription started at the same pause is what the turn waits for: on two cores the
    model's thread runs at a lower priority than the caller's, so it does not slow that down."""
    from assistant.speech.turn import LOW_PRIORITY, turn_pool

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    deadline = time.monotonic() + GUARD_S
    while (task := turn_pool().try_submit(niceness)) is None:  # an earlier call may still be counted
        assert time.monotonic() < deadline, "the turn-model pool never had room"
        time.sleep(0.01)
    assert task.result(timeout=GUARD_S) == max(niceness(), LOW_PRIORITY)  # lower, or as low as we already are


# --- in the end-pointer -----------------------------------------------------------------------------------


def synchronous(start: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], HeardAhead[Any]]:
    """Background work on a private pool, waited for before the end-pointer looks at it. (Two workers: a
    finished call leaves the pool's count a moment after its result is in.)"""
    pool = HearAheadPool(workers=2)

    def run(audio: np.ndarray) -> HeardAhead[Any]:
        handle = HeardAhead(audio, start, pool)
        assert not handle.cancelled()
        handle.result(timeout=GUARD_S)
        return handle

    return run


def listen(listener: Endpointer, audio: np.ndarray) -> tuple[Heard, int]:
    """The first utterance the listener hears, and how many samples had been fed when it ended."""
    for i in range(0, len(audio), FRAME):
        heard = listener.feed(audio[i : i + FRAME])
        if heard:
            return heard[0], i + FRAME
    tail = listener.flush()
    assert tail is not None
    return tail, len(audio)


def last_voiced(audio: np.ndarray) -> int:
    return int(np.flatnonzero(np.abs(audio) > 0.02)[-1]) + 1


@pytest.fixture(scope="module")
def listening(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The pipeline's own judgement of the words (`Listening.sounds_complete`: NLU and trailing words),
    over a runtime with a private database."""
    from assistant.listening import Listening
    from assistant.runtime import Runtime

    folder = tmp_path_factory.mktemp("turn-data")
    private = settings.model_copy(update={"data_dir": folder, "database_url": f"sqlite:///{folder / 'a.db'}"})
    runtime = Runtime(private)
    yield Listening(runtime)
    runtime.close()


def test_a_finished_request_ends_sooner_than_the_words_alone_would_end_it(
    turn: Any, recognizer: Any, listening: Any, speak: Callable[[str], np.ndarray]
) -> None:
    audio = stream(speak("Set a timer for ten minutes."))
    hear, ask = synchronous(recognizer.transcribe), synchronous(turn.probability_done)

    def endpointer(**model: Any) -> Endpointer:
        detector = EndOfSpeechDetector(end_silence_ms=800)
        return Endpointer(detector, hear, listening.sounds_complete, early_end_ms=300, **model)

    with_model, at = listen(endpointer(turn_model=ask, turn_end_ms=150), audio)
    words_alone, words_at = listen(endpointer(), audio)
    plain, plain_at = listen(Endpointer(EndOfSpeechDetector(end_silence_ms=800)), audio)
    assert with_model.ended_early and with_model.turn_probability is not None
    assert with_model.turn_probability > 0.9 and with_model.turn_ms is not None
    assert words_alone.ended_early and words_alone.turn_probability is None and not plain.ended_early
    # after the last word: ~0.2 s of silence with the model, ~0.3 s with the words alone, 0.8 s without
    assert at < words_at < plain_at and (words_at - at) / SAMPLE_RATE >= 0.09
    assert words(with_model.heard_ahead.result().text) == words("Set a timer for ten minutes.")
    assert with_model.heard_ahead.matches(with_model.utterance.audio)  # the turn uses the early transcript


@pytest.mark.parametrize(
    ("text", "model_says"),
    [
        ("Set a timer for, ten minutes.", "unfinished"),  # the model alone keeps listening
        # the model is wrong, and so is the recogniser ("and Moke End"): the NLU cannot place the words
        ("Add milk and, eggs to my list.", "finished"),
    ],
)
def test_a_pause_mid_request_does_not_cut_the_speaker_off(
    turn: Any,
    recognizer: Any,
    listening: Any,
    speak: Callable[[str], np.ndarray],
    text: str,
    model_says: str,
) -> None:
    audio = stream(with_pause(speak(text), 0.45))
    verdicts: list[float] = []

    def probability(samples: np.ndarray) -> float:
        verdicts.append(turn.probability_done(samples))
        return verdicts[-1]

    hear = synchronous(recognizer.transcribe) if model_says == "finished" else None
    detector = EndOfSpeechDetector(end_silence_ms=800)
    listener = Endpointer(detector, hear, listening.sounds_complete, 300, synchronous(probability), 0.5, 150)
    heard, at = listen(listener, audio)
    assert at > last_voiced(audio), "ended before the speaker's last word"
    assert len(verdicts) == 2 and (verdicts[0] < 0.5) == (model_says == "unfinished"), verdicts
    assert heard.ended_early and verdicts[1] > 0.9  # and the whole request still ends early
    assert len(heard.utterance.audio) > last_voiced(audio) - 0.4 * SAMPLE_RATE  # all of it, in one utterance
    if hear is not None:  # the words after the pause were heard too (tiny.en hears "add" as "and")
        after = words(text.split(",")[1])
        assert words(heard.heard_ahead.result().text)[-len(after) :] == after


def test_the_bench_counts_a_request_cut_off_at_its_pause(
    recognizer: Any, speak: Callable[[str], np.ndarray]
) -> None:
    """`bench e2e`'s paused requests: the comma's gap becomes the pause, and a listener that ends the
    utterance there (words taken as whole whatever they are, after 200 ms) is counted as cutting off."""
    from assistant.bench import e2e
    from assistant.bench.spoken import with_room_silence

    speech = with_pause(speak("Set a timer for, ten minutes."), 0.45)
    gaps = np.diff(np.flatnonzero(np.abs(speech) > 0.02))
    assert abs(gaps.max() / SAMPLE_RATE - 0.45) < 0.03  # the pause, as long as asked
    padded, voiced_end = with_room_silence(speech)
    hasty = Endpointer(EndOfSpeechDetector(), synchronous(recognizer.transcribe), lambda text: True, 200)
    cut = e2e.end_point(hasty, padded, voiced_end)
    assert cut.cut_off and cut.ended_early and np.isnan(cut.wait_ms)
    whole = e2e.end_point(Endpointer(EndOfSpeechDetector()), padded, voiced_end)  # silence alone decides
    assert not whole.cut_off and whole.wait_ms > 0
    with pytest.raises(e2e.BenchError, match="No pause"):
        with_pause(speak("What time is it?"), 0.4)


def test_pipecat_is_found_without_being_imported() -> None:
    from assistant.speech.turn import model_path

    path = model_path()
    assert isinstance(path, Path) and path.stat().st_size > 1_000_000
    assert not any(name == "pipecat" or name.startswith("pipecat.") for name in sys.modules)
