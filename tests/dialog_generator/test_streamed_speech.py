"""A generated reply streams into speech sentence by sentence: what is spoken is exactly the reply, each
sentence once and whole, in order, and speaking starts before the generator has finished.

The generator is the real OpenAI-compatible backend reading a local server that streams pieces cut in the
middle of words and sentences; the voice is the real offline Piper voice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.events import AudioEvent, IntentEvent, TextEvent, TurnDoneEvent, TurnRequest
from tests.dialog_generator.conftest import FakeChatServer

pytestmark = pytest.mark.slow

PIECES = [
    "A rain",
    "bow forms when sun",
    "light is bent by rain",
    "drops. Each drop splits the light",
    " into its colours! Would you",
    " like to know why the sky is blue?",
    " Just ask",
]


def test_generated_reply_is_spoken_exactly_sentence_by_sentence(
    chat_server: FakeChatServer, tmp_path: Path
) -> None:
    from assistant.pipeline import Pipeline

    for key in [k for k in os.environ if k.startswith("ASSISTANT_")]:
        os.environ.pop(key)
    chat_server.pieces = PIECES
    settings = load_settings(
        {
            "data_dir": str(tmp_path),
            "generator": {"backend": "openai-compatible", "url": chat_server.url, "model": "any"},
        }
    )
    pipeline = Pipeline(settings)
    try:
        events = list(pipeline.run(TurnRequest(user="listener", text="how does a rainbow form", speak=True)))
    finally:
        pipeline.runtime.close()

    routed = next(e for e in events if isinstance(e, IntentEvent))
    assert routed.routed_to == "generator", routed
    done = events[-1]
    assert isinstance(done, TurnDoneEvent) and done.reply == "".join(PIECES).strip()

    audio = [e.chunk for e in events if isinstance(e, AudioEvent)]
    spoken = [chunk.text for chunk in audio if chunk.text]
    assert " ".join(spoken) == " ".join(done.reply.split())  # every word spoken once, in order
    assert spoken == [
        "A rainbow forms when sunlight is bent by raindrops.",
        "Each drop splits the light into its colours!",
        "Would you like to know why the sky is blue?",
        "Just ask",
    ]
    assert [chunk.index for chunk in audio] == list(range(len(audio)))
    assert audio[-1].final and not any(chunk.final for chunk in audio[:-1])
    assert all(chunk.samples.size > 0 for chunk in audio)
    # the first sentence is spoken as soon as it ends, before the generator's last piece arrives
    first_audio = next(i for i, e in enumerate(events) if isinstance(e, AudioEvent))
    last_piece = max(i for i, e in enumerate(events) if isinstance(e, TextEvent))
    assert first_audio < last_piece
