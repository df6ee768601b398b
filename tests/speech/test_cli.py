"""`assistant transcribe`, `say` and `talk` through the real CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from assistant.cli import app
from assistant.speech.types import SAMPLE_RATE
from tests.speech.conftest import SPEECH_DATA, silence, words

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_say_then_transcribe_json(tmp_path):
    wav = tmp_path / "hello.wav"
    result = runner.invoke(
        app, ["say", "Good morning. What can I do for you?", "-o", str(wav), "--deterministic"]
    )
    assert result.exit_code == 0, result.output
    assert sf.info(wav).samplerate == 22050 and sf.info(wav).duration > 1.5

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    result = runner.invoke(
        app, ["transcribe", "--json", str(wav), str(SPEECH_DATA / "jfk" / "jfk.flac"), str(empty)]
    )
    assert result.exit_code == 1, "a bad file makes the exit code non-zero"
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 3
    first, second, bad = lines
    assert set(first) == {"file", "text", "confidence", "seconds", "rtf"}
    assert words(first["text"]) == words("Good morning. What can I do for you?")
    assert "ask not what your country can do for you" in second["text"].lower().replace(",", "")
    assert second["seconds"] == pytest.approx(11.0, abs=0.1) and second["rtf"] > 0
    assert bad == {"file": str(empty), "error": f"{empty}: the file is empty (0 bytes)."}
    assert "Traceback" not in result.output


def test_say_and_transcribe_errors(tmp_path):
    result = runner.invoke(app, ["say", "Hi.", "-o", str(tmp_path / "x.wav"), "--backend", "nope"])
    assert result.exit_code == 1 and "Unknown tts backend 'nope'" in " ".join(result.output.split())
    result = runner.invoke(app, ["transcribe", str(tmp_path / "missing.wav")])
    output = " ".join(result.output.split())  # rich wraps long lines
    assert result.exit_code == 1 and "missing.wav: no such file" in output and "Traceback" not in output


def test_talk_with_input_and_output_files(tmp_path, speak, monkeypatch):
    """Two requests; the second is cut short by "stop" while the reply to the first is still playing.

    The replies come from the whole assistant (NLU, skills or generator), not an echo."""
    from platformdirs import user_cache_dir

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", user_cache_dir("assistant"))  # the prepared NLU and generator
    recording = np.concatenate(
        [
            silence(0.5),
            speak("Turn on the kitchen lights."),
            silence(1.0),
            speak("Stop."),
            silence(3.0),
            speak("Play some music."),
            silence(1.5),
        ]  # fmt: skip
    )
    source, reply = tmp_path / "in.flac", tmp_path / "out.wav"
    sf.write(source, recording, SAMPLE_RATE)
    result = runner.invoke(app, ["talk", "--input", str(source), "--output", str(reply), "--no-wake"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    you = [line.split("you:", 1)[1] for line in lines if " you:" in line]
    assert [words(t) for t in you] == [words("Turn on the kitchen lights."), words("Play some music.")]
    assert any(" stop:" in line for line in lines)
    replies = [line.split("assistant:", 1)[1] for line in lines if " assistant:" in line]
    assert len(replies) >= 2 and all(r.strip() for r in replies), lines
    assert not any("You said" in r for r in replies)
    track, rate = sf.read(reply)
    assert len(track) / rate >= len(recording) / SAMPLE_RATE - 0.05
    assert np.abs(track).max() > 0.3, "the replies are in the output"


def test_talk_session_stop_cuts_the_reply(recognizer, synth, speak):
    from assistant.speech.talk import (
        TalkSession,
        TimelinePlayer,
        echo_responder,
        is_stop_command,
        run_on_recording,
    )

    assert (
        is_stop_command("Stop.")
        and is_stop_command("OK, stop it please!")
        and not is_stop_command("Stop the music")
    )
    # a long request, so its echoed reply is still playing when "Stop." comes, however fast the ASR is
    request = "Turn on the kitchen lights, and then tell me what the weather will be like tomorrow morning."
    recording = np.concatenate([silence(0.3), speak(request), silence(1.0), speak("Stop."),
                                silence(6.0)])  # fmt: skip
    player = TimelinePlayer()
    session = TalkSession(recognizer, echo_responder(synth), player)
    run_on_recording(session, recording)
    kinds = [e.kind for e in session.events]
    assert kinds[0] == "heard" and "stopped" in kinds
    stopped_at = next(e.at for e in session.events if e.kind == "stopped")
    full_reply = sum(len(c.samples) for c in synth.stream(f"You said: {request}")) / synth.sample_rate
    ((start, played),) = player._clips
    assert len(played) / player.sample_rate == pytest.approx(stopped_at - start, abs=0.01)
    assert len(played) / player.sample_rate < full_reply, "playback was interrupted"


def _talk_has_json() -> bool:
    import inspect

    from assistant.speech.cli import talk

    return "as_json" in inspect.signature(talk).parameters


@pytest.mark.skipif(
    not _talk_has_json(), reason="`talk --json/--wake` needs the issue-19 change to assistant/speech/cli.py"
)
def test_talk_json_shows_the_wake_word_then_the_turn(tmp_path, speak, monkeypatch):
    """With the wake word on (the default) a request said before the name is not taken; "Alexa, what time
    is it?" prints a `wake` event (model and score), then what was heard, then the turn's own events.
    With --no-wake every utterance is a request, as before."""
    from platformdirs import user_cache_dir

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", user_cache_dir("assistant"))  # the prepared NLU and generator
    recording = np.concatenate([silence(0.5), speak("Turn on the kitchen lights."), silence(1.0),
                                speak("Alexa, what time is it?"), silence(2.0)])  # fmt: skip
    source = tmp_path / "in.flac"
    sf.write(source, recording, SAMPLE_RATE)
    reply = str(tmp_path / "out.wav")
    result = runner.invoke(app, ["talk", "--input", str(source), "--output", reply, "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    kinds = [r["kind"] for r in records]
    assert kinds.count("wake") == 1 and kinds.count("heard") == 1 and kinds.count("done") == 1, kinds
    wake = records[0]
    assert wake["kind"] == "wake" and wake["name"] == "alexa" and wake["score"] > 0.9
    said_at = 0.5 + len(speak("Turn on the kitchen lights.")) / SAMPLE_RATE + 1.0
    assert said_at + 0.3 < wake["at_s"] < said_at + 1.5, (wake, said_at)  # "Alexa," lasts about 0.5 s
    heard = records[kinds.index("heard")]
    assert words(heard["text"]) == words("What time is it?")
    assert kinds.index("wake") < kinds.index("heard") < kinds.index("intent") < kinds.index("done")
    assert {"intent", "text", "audio", "timing"} <= set(kinds)
    assert records[kinds.index("done")]["reply"].strip()

    result = runner.invoke(app, ["talk", "--input", str(source), "--output", reply, "--no-wake", "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    kinds = [r["kind"] for r in records]
    assert "wake" not in kinds and words(records[kinds.index("heard")]["text"]) == words(
        "Turn on the kitchen lights."
    )
