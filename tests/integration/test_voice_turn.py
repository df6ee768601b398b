"""A spoken request through the whole pipeline: audio in, transcript, intent, skill, audio out."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from assistant.events import AudioEvent, ErrorEvent, IntentEvent, TimingEvent, TranscriptEvent, TurnRequest

pytestmark = pytest.mark.slow


def _spoken(pipeline, text: str) -> bytes:
    """The request as a 44.1 kHz stereo WAV file, as a browser or phone might send it."""
    from assistant.audio import resample
    from assistant.speech.tts import synthesize

    synth = pipeline.runtime.synthesizer()
    audio = resample(synthesize(synth, text), synth.sample_rate, 44_100)
    stereo = np.stack([audio, audio * 0.9], axis=1)
    buffer = io.BytesIO()
    sf.write(buffer, stereo, 44_100, format="WAV")
    return buffer.getvalue()


def test_spoken_request_gets_a_spoken_reply(pipeline) -> None:
    audio = _spoken(pipeline, "Add apples to my shopping list.")
    events = list(pipeline.run(TurnRequest(user="voice-user", audio=audio, speak=True)))
    assert not [e for e in events if isinstance(e, ErrorEvent)]
    transcript = next(e for e in events if isinstance(e, TranscriptEvent)).transcript
    assert "apples" in transcript.text.lower()
    intent = next(e for e in events if isinstance(e, IntentEvent))
    assert intent.intent.label == "lists_createoradd" and intent.routed_to.startswith("skill:")
    chunks = [e.chunk for e in events if isinstance(e, AudioEvent)]
    assert chunks and sum(len(c.samples) for c in chunks) / chunks[0].sample_rate > 0.5
    assert chunks[-1].final
    stages = {e.stage for e in events if isinstance(e, TimingEvent)}
    assert {"asr", "nlu", "skill", "tts_first_audio", "total"} <= stages
    user = pipeline.memory.user("voice-user")
    (turn,) = pipeline.memory.search_turns(user.id, "apples")
    assert turn.input_kind == "voice" and turn.asr_confidence is not None


@pytest.mark.parametrize(
    "audio, message",
    [
        (b"", "empty"),
        (b"RIFF\x00\x00not really a wav", "audio"),
        (np.zeros(16_000 * 3, dtype=np.float32), "silence"),
    ],
    ids=["empty", "corrupt", "silence"],
)
def test_bad_audio_gets_a_clear_message(pipeline, audio, message: str) -> None:
    events = list(pipeline.run(TurnRequest(user="bad-audio", audio=audio)))
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert len(errors) == 1 and message in errors[0].message.lower(), errors
