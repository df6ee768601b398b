"""The page's hands-free microphone payloads and the sentence-by-sentence reply stream (ui/voice.py), and
the hands-free handler fed real speech through the real end-of-speech detector."""

from __future__ import annotations

import base64
import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from assistant.config import load_settings
from ui.conversation import ConversationTab
from ui.session import WebSession
from ui.voice import MAX_PAYLOAD_SECONDS, PayloadError, ReplyStream, decode_payload


def payload(
    samples: np.ndarray, rate: int = 16_000, on: bool = True, muted: bool = False, error: str = ""
) -> str:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    return json.dumps(
        {"on": on, "rate": rate, "muted": muted, "error": error, "pcm": base64.b64encode(pcm).decode()}
    )


def test_payload_round_trip():
    tone = 0.5 * np.sin(np.linspace(0, 100, 4000)).astype(np.float32)
    mic = decode_payload(payload(tone, rate=48_000, muted=True))
    assert mic.on and mic.muted and mic.rate == 48_000 and mic.error == ""
    assert mic.samples.dtype == np.float32 and np.allclose(mic.samples, tone, atol=1e-4)
    assert decode_payload("") is None and decode_payload(None) is None
    stopped = decode_payload(payload(np.zeros(0), on=False, error="the microphone went away"))
    assert not stopped.on and stopped.samples.size == 0 and "went away" in stopped.error


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"rate": 16000, "pcm": "***"}),
        json.dumps({"rate": 16000, "pcm": base64.b64encode(b"abc").decode()}),
        json.dumps({"rate": 5, "pcm": base64.b64encode(b"ab").decode()}),
        payload(np.zeros(int(16_000 * MAX_PAYLOAD_SECONDS * 2))),
        "[1, 2]",
    ],
)
def test_bad_payloads_are_refused_clearly(text):
    with pytest.raises(PayloadError, match="microphone"):
        decode_payload(text)


def test_reply_stream_only_grows_and_carries_playable_wavs():
    stream = ReplyStream()
    first = stream.text
    assert first == f"turn {stream.turn}\n"
    after_one = stream.add(np.full(2205, 0.1, dtype=np.float32), 22_050)
    after_empty = stream.add(np.zeros(0, dtype=np.float32), 22_050)
    after_two = stream.add(np.full(4410, -0.1, dtype=np.float32), 22_050)
    assert after_one.startswith(first) and after_two.startswith(after_one) and after_empty == after_one
    lines = after_two.strip().split("\n")[1:]
    assert [line.split(" ")[0] for line in lines] == ["0", "1"]
    samples, rate = sf.read(io.BytesIO(base64.b64decode(lines[1].split(" ")[1])))
    assert rate == 22_050 and len(samples) == 4410 and samples.max() < 0
    assert ReplyStream().turn != stream.turn


@pytest.fixture(scope="module")
def spoken_request() -> np.ndarray:
    """ "What time is it?" in the offline Piper voice, at 16 kHz."""
    from assistant.audio import resample
    from assistant.speech.tts import load_synthesizer

    synth = load_synthesizer(load_settings({"tts": {"deterministic": True}}))
    speech = np.concatenate([c.samples for c in synth.stream("What time is it?")])
    return resample(np.asarray(speech, dtype=np.float32), synth.sample_rate)


@pytest.mark.slow
def test_hands_free_handler_finds_the_utterance_after_the_pause(tmp_path, spoken_request):
    from assistant.pipeline import Pipeline

    settings = load_settings({"data_dir": tmp_path, "wake": {"enabled": False}})  # every utterance heard
    tab = ConversationTab(Pipeline(settings), settings, None, {})
    session = WebSession(user_name="guest-x", user_id=1)
    audio = np.concatenate([np.zeros(8000, np.float32), spoken_request, np.zeros(24_000, np.float32)])
    seq, statuses = 0, []
    step = 4000  # 0.25 s, as the page sends it
    for i in range(0, len(audio), step):
        new_seq, status, timer = tab.on_listen(payload(audio[i : i + step]), session, seq)
        statuses.append(status)
        if isinstance(new_seq, int):
            seq = new_seq
            break
    assert seq == 1, statuses
    assert "Listening… (hearing speech)" in statuses and statuses[-1] == "Heard you, thinking…"
    heard = session.pending_utterance
    assert len(spoken_request) <= len(heard.utterance.audio) <= len(spoken_request) + 16_000
    # recognition started at the speaker's pause, on exactly the audio the turn gets
    assert heard.heard_ahead is not None and heard.heard_ahead.matches(heard.utterance.audio)
    assert "time" in heard.heard_ahead.result(timeout=60).text.lower()
    # While the turn runs nothing new is heard, and the page's own voice resets the detector.
    session.busy = True
    assert tab.on_listen(payload(spoken_request[:4000]), session, seq)[1] == "Answering…"
    session.busy, session.pending_utterance = False, None
    middle = len(spoken_request) // 2
    tab.on_listen(payload(spoken_request[middle - 4000 : middle + 4000]), session, seq)
    assert session.listening.in_speech
    tab.on_listen(payload(np.zeros(0, np.float32), muted=True), session, seq)
    assert not session.listening.in_speech


def test_hands_free_handler_stops_on_page_stop_and_bad_data(tmp_path):
    tab = ConversationTab(None, load_settings({"data_dir": tmp_path}), None, {})
    session = WebSession(user_name="guest-x", user_id=1)
    seq, status, timer = tab.on_listen(
        payload(np.zeros(0), on=False, error="listened for the maximum time"), session, 0
    )
    assert "maximum time" in status and timer.active is False
    seq, status, timer = tab.on_listen("garbage", session, 0)
    assert status.startswith("Stopped listening: unreadable microphone data") and timer.active is False
    # no session yet (page still loading): nothing happens
    assert all(isinstance(x, dict) for x in tab.on_listen(payload(np.zeros(4000)), None, 0))
    assert tab.on_listen_start("error: microphone access was denied", session, SimpleNamespace())[2] == (
        "Not listening: microphone access was denied."
    )
