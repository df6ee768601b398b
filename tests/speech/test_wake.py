"""The wake word: found in recordings that say it, not in real speech without it, cheap while idle, and
the hands-free session around it (same-breath request, request after a pause, follow-up, back to sleep)."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

from assistant.audio import load_audio
from assistant.config import WakeSettings
from assistant.offline import ModelNotAvailableError
from assistant.speech.wake import (
    WakeGate,
    builtin_micro_models,
    load_wake_detector,
    micro_models_dir,
    strip_wake_phrase,
    wake_detectors,
    wake_gate,
)
from tests.speech.conftest import SPEECH_DATA, silence, words

PHRASES = {
    "alexa": "Alexa",
    "hey_jarvis": "Hey Jarvis",
    "hey_mycroft": "Hey Mycroft",
    "okay_nabu": "Okay Nabu",
}


def detect(model: str, audio: np.ndarray, chunk: int = 512) -> list:
    """Stream `audio` through a fresh detector in microphone-sized chunks, as hands-free listening does."""
    detector = load_wake_detector(WakeSettings(model=model))
    found = []
    for i in range(0, len(audio), chunk):
        found.extend(detector.process(audio[i : i + chunk]))
    return found


def test_the_four_shipped_models_load_from_the_package():
    assert builtin_micro_models() == sorted(PHRASES)
    assert {"micro", "openwakeword"} <= set(wake_detectors.names())
    for name, phrase in PHRASES.items():
        detector = load_wake_detector(WakeSettings(model=name))
        cutoff = json.loads((micro_models_dir() / f"{name}.json").read_text())["micro"]["probability_cutoff"]
        assert (detector.name, detector.phrase, detector.threshold) == (name, phrase, cutoff)
    assert load_wake_detector(WakeSettings(model="alexa", threshold=0.5)).threshold == 0.5


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(PHRASES))
def test_each_model_wakes_on_its_own_name_only(model, speak):
    """Piper says each name before a request: its own model wakes once, right after the name; the others
    stay asleep."""
    name_only = speak(f"{PHRASES[model]}.")
    recording = np.concatenate([silence(1.0), speak(f"{PHRASES[model]}, what time is it?"), silence(1.0)])
    (event,) = detect(model, recording)
    assert event.name == model and event.score > load_wake_detector(WakeSettings(model=model)).threshold
    name_ends = 1.0 + len(name_only) / 16_000  # Piper's clip of the name alone, with its own tail
    assert name_ends - 0.6 < event.at_s < name_ends + 0.4, (event.at_s, name_ends)
    for other in PHRASES:
        if other != model:
            assert detect(other, recording) == [], f"{other} woke on {PHRASES[model]!r}"


@pytest.mark.slow
@pytest.mark.parametrize("text", ["Alex, what time is it?", "What time is it?", "Alexander, set a timer."])
def test_alexa_stays_asleep_without_its_name(text, speak):
    assert detect("alexa", np.concatenate([silence(1.0), speak(text), silence(1.0)])) == []


@pytest.mark.slow
def test_real_speech_without_the_word_seldom_wakes():
    """About 16 minutes of real speech that never says a name, as one stream: LJSpeech (12 read sentences),
    JFK's inaugural line and 100 crowd-sourced Picovoice coffee orders. hey_jarvis and okay_nabu never
    wake; alexa (the default) wakes once, on "I'd like a twelve-ounce ..." (score 0.935 against its 0.9
    cut-off, after the orders before it; alone, that order scores 0.80). That is ~4 false wakes an hour on
    this speech, far from the issue's 1 in 10 hours: `assistant bench wake` measures it on an hour."""
    if not SPEECH_DATA.is_dir():
        pytest.skip(f"no speech data at {SPEECH_DATA}")
    files = sorted((SPEECH_DATA / "ljspeech_dev" / "wavs").glob("*.flac"))
    files += [SPEECH_DATA / "jfk" / "jfk.flac"]
    files += sorted((SPEECH_DATA / "picovoice_dev" / "clean").glob("*.flac"))[:100]
    stream = np.concatenate([part for f in files for part in (load_audio(f), silence(0.3))])
    assert len(stream) / 16_000 > 900
    assert detect("hey_jarvis", stream, chunk=1600) == [] and detect("okay_nabu", stream, chunk=1600) == []
    assert [round(e.at_s) for e in detect("alexa", stream, chunk=1600)] == [383]


def test_idle_listening_costs_under_five_percent_of_a_core():
    """A minute of quiet room noise (-50 dBFS) in 32 ms chunks: the detector's CPU time on this thread
    (where the tflite model runs) over the audio's duration."""
    noise = np.random.default_rng(0).normal(0, 0.003, 60 * 16_000).astype(np.float32)
    detector = load_wake_detector(WakeSettings())
    start = time.thread_time()
    for i in range(0, len(noise), 512):
        assert detector.process(noise[i : i + 512]) == []
    share = (time.thread_time() - start) / 60
    assert share < 0.05, f"{share:.1%} of one core"


def test_a_users_own_model_file_and_clear_messages_for_bad_ones(tmp_path):
    folder = micro_models_dir()
    for suffix in (".json", ".tflite"):
        shutil.copy(folder / f"alexa{suffix}", tmp_path / f"alexa{suffix}")
    for path in (tmp_path / "alexa.json", tmp_path / "alexa.tflite"):
        assert load_wake_detector(WakeSettings(model=str(path))).phrase == "Alexa"

    with pytest.raises(ModelNotAvailableError, match="not a built-in model or a file.*alexa, hey_jarvis"):
        load_wake_detector(WakeSettings(model="computer"))
    (tmp_path / "broken.json").write_text('{"wake_word": "Computer", "model": "broken.tflite"}')
    with pytest.raises(ModelNotAvailableError, match="not a microWakeWord model config"):
        load_wake_detector(WakeSettings(model=str(tmp_path / "broken.json")))
    config = json.loads((folder / "alexa.json").read_text())
    (tmp_path / "missing.json").write_text(json.dumps({**config, "model": "missing.tflite"}))
    with pytest.raises(ModelNotAvailableError, match="names missing.tflite, which is not beside it"):
        load_wake_detector(WakeSettings(model=str(tmp_path / "missing.json")))
    (tmp_path / "fake.tflite").write_bytes(b"not a model at all")
    (tmp_path / "fake.json").write_text(json.dumps({**config, "model": "fake.tflite"}))
    with pytest.raises(ModelNotAvailableError, match="is not a TensorFlow Lite model"):
        load_wake_detector(WakeSettings(model=str(tmp_path / "fake.json")))


def test_openwakeword_is_optional_and_says_how_to_get_it():
    try:
        import pyopen_wakeword  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("pyopen-wakeword is installed here")
    with pytest.raises(ModelNotAvailableError) as info:
        load_wake_detector(WakeSettings(backend="openwakeword"))
    assert "pip install pyopen-wakeword" in str(info.value) and "CC BY-NC-SA 4.0" in str(info.value)


def test_wake_gate_off_and_the_wake_word_stripped_from_requests():
    assert wake_gate(WakeSettings(enabled=False)) is None
    assert isinstance(wake_gate(WakeSettings()), WakeGate)
    assert strip_wake_phrase("Alexa, what time is it?", "Alexa") == "what time is it?"
    assert strip_wake_phrase("hey Jarvis... stop", "Hey Jarvis") == "stop"
    assert strip_wake_phrase("Alexander the Great", "Alexa") == "Alexander the Great"
    assert strip_wake_phrase("Alexa.", "Alexa") == ""


# --- the hands-free session -------------------------------------------------------------------------------


def _session(recognizer, synth, recording: np.ndarray, follow_up_s: float = 5.0):
    from assistant.speech.talk import TalkSession, TimelinePlayer, earcon, echo_responder, run_on_recording

    gate = WakeGate(load_wake_detector(WakeSettings()), request_s=4.0, follow_up_s=follow_up_s)
    player = TimelinePlayer()
    session = TalkSession(recognizer, echo_responder(synth), player, gate=gate, chime=earcon())
    run_on_recording(session, recording)
    return [e for e in session.events if e.kind != "reply"], player


@pytest.mark.slow
def test_request_in_the_same_breath_as_the_wake_word(recognizer, synth, speak):
    """'Alexa, set a timer for five minutes': the words after the name are the request; the earcon plays
    at the wake word, and nothing said before it is heard."""
    recording = np.concatenate([silence(0.5), speak("What time is it?"), silence(1.0),
                                speak("Alexa, set a timer for five minutes."), silence(2.0)])  # fmt: skip
    events, player = _session(recognizer, synth, recording)
    assert [e.kind for e in events] == ["wake", "heard"]
    wake, heard = events
    assert wake.wake is not None and wake.wake.name == "alexa" and wake.wake.score > 0.9
    assert words(heard.text) == words("set a timer for five minutes")
    chime, reply = player._clips
    assert chime[0] == wake.at and len(chime[1]) / player.sample_rate < 0.2
    assert reply[0] == heard.at


@pytest.mark.slow
def test_request_after_a_pause_then_a_follow_up_then_sleep(recognizer, synth, speak):
    """The name alone, a pause, the request; a follow-up inside the window needs no name; after the window
    closes, speech is not heard until the name is said again."""
    recording = np.concatenate([
        silence(1.0), speak("Alexa."), silence(1.0), speak("What time is it?"),
        silence(3.5), speak("What is twelve times seven?"),
        silence(8.0), speak("Turn off the lights."), silence(1.5),
        speak("Alexa, play some music."), silence(2.0),
    ])  # fmt: skip
    events, _ = _session(recognizer, synth, recording, follow_up_s=2.0)
    assert [e.kind for e in events] == ["wake", "heard", "heard", "sleep", "wake", "heard"], events
    assert [words(e.text) for e in events if e.kind == "heard"] == [
        words("What time is it?"),
        words("What is twelve times seven?"),
        words("play some music"),
    ]
