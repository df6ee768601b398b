"""The e2e and load benchmarks' measuring parts, on real audio and a real served app (no timing asserts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.bench import e2e, load, spoken
from assistant.listening import Listening
from assistant.speech.types import SAMPLE_RATE
from tests.robustness.conftest import MODEL_CACHE, make_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def requests_audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    import shutil

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/setup.sh installs it)")
    return spoken.synthesise_requests(tmp_path_factory.mktemp("e2e-cache"))


def test_requests_are_synthesised_once_and_cached(
    requests_audio: dict[str, np.ndarray], tmp_path: Path
) -> None:
    synthesised = {r.id for r in spoken.REQUESTS if r.recording is None}
    from assistant.bench.asr import data_dir

    real = {r.id for r in spoken.REAL_REQUESTS if (data_dir() / str(r.recording)).is_file()}
    assert set(requests_audio) == synthesised | real
    kinds = {r.kind for r in spoken.REQUESTS}
    assert kinds == {"skill", "open"} and sum(r.kind == "open" for r in spoken.REQUESTS) == 4
    for samples in requests_audio.values():
        assert 0.5 < len(samples) / SAMPLE_RATE < 5 and np.abs(samples).max() > 0.1


def test_end_point_finds_the_request_and_measures_the_wait(requests_audio: dict[str, np.ndarray]) -> None:
    from assistant.speech.endpoint import Endpointer
    from assistant.speech.vad import EndOfSpeechDetector

    detector = EndOfSpeechDetector()
    speech = requests_audio["time"]
    padded, last_voiced = spoken.with_room_silence(speech)
    assert np.abs(padded[last_voiced:]).max() <= spoken.VOICED_LEVEL
    heard = e2e.end_point(Endpointer(detector), padded, last_voiced)  # silence alone decides
    assert heard.audio is not None and heard.heard_ahead is None
    assert abs(len(heard.audio) - len(speech)) < SAMPLE_RATE  # the request, not the surrounding silence
    # the detector needs its silence window of audio after the last voiced sample before it ends the turn,
    # and from the pause on the audio comes at microphone pace, so the wall clock cannot beat the window
    window_ms = detector.end_frames * 512 / SAMPLE_RATE * 1000
    assert window_ms * 0.8 < heard.wait_ms < window_ms + 1000
    assert heard.vad_ms > 0


def test_a_turn_heard_ahead_uses_the_early_transcript(
    pipeline: Any, requests_audio: dict[str, np.ndarray]
) -> None:
    padded, last_voiced = spoken.with_room_silence(requests_audio["arithmetic"])
    heard = e2e.end_point(Listening(pipeline.runtime).endpointer(), padded, last_voiced)
    assert heard.heard_ahead is not None and heard.heard_ahead.matches(heard.audio)
    measure, _ = e2e.run_turn(pipeline, heard.audio, "bench-e2e-ahead", None, True, heard.heard_ahead)
    assert measure.error is None, measure.error
    assert "84" in measure.reply  # twelve times seven, understood from the early transcript
    assert "asr_heard_ahead" in measure.stages_ms


def test_a_spoken_turn_is_measured_to_its_first_reply_audio(
    pipeline: Any, requests_audio: dict[str, np.ndarray]
) -> None:
    measure, conversation = e2e.run_turn(
        pipeline, requests_audio["time"], "bench-e2e-test", None, streamed=True
    )
    assert measure.error is None, measure.error
    assert "time" in measure.heard.lower() and conversation is not None
    assert measure.processing_ms > 0 and "asr" in measure.stages_ms and "tts_first_audio" in measure.stages_ms
    whole, _ = e2e.run_turn(pipeline, requests_audio["time"], "bench-e2e-test", conversation, streamed=False)
    assert whole.error is None and "tts_whole_reply" in whole.stages_ms


def test_summary_percentiles_ignore_errors() -> None:
    turns = [
        e2e.TurnMeasure("a", "skill", voice_to_voice_ms=v, processing_ms=v - 700) for v in (900, 1000, 1100)
    ]
    turns.append(e2e.TurnMeasure("b", "skill", error="no speech detected"))
    summary = e2e.summarise(turns)
    assert summary["errors"] == 1 and summary["skill"]["n"] == 3
    assert summary["skill"]["voice_to_voice_p50_ms"] == 1000.0
    assert summary["open"]["voice_to_voice_p50_ms"] is None


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:7860", "http://example.com", "ftp://127.0.0.1/x", "nonsense"]
)
def test_load_refuses_anything_but_loopback(url: str) -> None:
    with pytest.raises(load.LoadError):
        load.check_loopback(url)


def test_load_accepts_loopback() -> None:
    assert load.check_loopback("http://127.0.0.1:7860/") == "http://127.0.0.1:7860"
    assert load.check_loopback("http://localhost:7860") == "http://localhost:7860"


def test_load_drives_the_served_app_and_every_acknowledged_turn_is_stored(
    served_app: tuple[str, Path],
) -> None:
    url, data_dir = served_app
    results, elapsed = load.drive(url, users=3, seconds=3.0)
    summary = load.summarise(results, elapsed, 3)
    assert summary["ok"] >= 3 and summary["errors"] == 0, summary
    assert len({r.user for r in results}) == 3
    settings = make_settings(data_dir)
    assert settings.cache_dir == MODEL_CACHE
    stored = load.verify_stored(settings, results)
    assert stored == {"acknowledged": summary["ok"], "missing": 0, "integrity": "ok"}


@pytest.mark.parametrize(
    ("url", "message"),
    [("http://10.1.2.3:7860", "not on this machine"), (None, "cannot read|cannot reach|did not come up")],
)
def test_bench_load_command_fails_clearly(url: str | None, message: str, tmp_path: Path) -> None:
    """Not loopback: refused. A loopback port with nothing behind it: a clear error, no traceback."""
    import re

    from typer.testing import CliRunner

    from assistant.cli import app
    from tests.robustness.conftest import free_port

    target = url or f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        app, ["bench", "load", "--url", target, "--seconds", "1", "--out", str(tmp_path / "load.json")]
    )
    assert result.exit_code != 0
    assert re.search(message, result.output), result.output
    assert "Traceback" not in result.output


def test_spoken_requests_come_out_once_without_the_full_window(
    pipeline: Any, requests_audio: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whisper filled an 8 s window with "What time is it?" three times; the retry with timestamp tokens
    fixes that without falling back to the 30 s window (+500 ms)."""
    from assistant.speech.asr import WHISPER_WINDOW_S, repeats_itself
    from assistant.speech.vad import split_utterances

    recognizer = pipeline.runtime.recognizer()
    windows: list[int] = []
    decode_in = recognizer._decode_in

    def spy(audio: np.ndarray, window: int, timestamps: bool):  # type: ignore[no-untyped-def]
        windows.append(window)
        return decode_in(audio, window, timestamps)

    monkeypatch.setattr(recognizer, "_decode_in", spy)
    for i, request in enumerate(r for r in spoken.REQUESTS if r.recording is None):
        padded, _ = spoken.with_room_silence(requests_audio[request.id], seed=i)
        (utterance,) = split_utterances(padded)
        text = recognizer.transcribe(utterance.audio).text
        assert text and not repeats_itself(text), (request.id, text)
    assert WHISPER_WINDOW_S not in windows


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("What is 12 times 7?", True),  # the arithmetic skill's rule, whatever the NLU thinks
        ("What time is it?", True),
        ("Add milk to my shopping list.", True),
        ("Add milk and", False),  # trails off
        ("What is 12 times", False),
        ("Set a timer for", False),
        ("", False),
    ],
)
def test_sounds_complete_decides_early_ends(pipeline: Any, text: str, whole: bool) -> None:
    assert Listening(pipeline.runtime).sounds_complete(text) is whole


def test_bench_e2e_command_runs_and_writes_its_report(requests_audio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The command end to end, once over the spoken requests (the parts above are measured separately)."""
    import json

    from typer.testing import CliRunner

    from assistant.cli import app

    out = tmp_path / "e2e.json"
    result = CliRunner().invoke(
        app,
        [
            "--set",
            f"data_dir={tmp_path}",
            "bench",
            "e2e",
            "--variants",
            "default",
            "--repeats",
            "1",
            "--out",
            str(out),
        ],
        env={"COLUMNS": "200", "TERM": "dumb"},
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    (run,) = report["runs"]
    assert "error" not in run, run
    assert len(report["requests"]) >= 7


def test_abuse_bench_samples_peak_memory_and_knows_its_attacks(tmp_path) -> None:
    import os
    import time as _time

    import psutil

    from assistant.bench import abuse

    sampler = abuse.PeakMemory(os.getpid(), every_s=0.01)
    sampler.start()
    block = bytearray(64 * 1024 * 1024)  # 64 MB, touched, while sampled
    block[::4096] = b"x" * len(block[::4096])
    _time.sleep(0.1)
    peak = sampler.stop()
    del block
    assert peak * 1024 * 1024 >= psutil.Process(os.getpid()).memory_info().rss * 0.5
    assert peak > 64
    target = abuse.Target("http://127.0.0.1:1", os.getpid(), tmp_path, tmp_path)
    with pytest.raises(ValueError, match="Unknown attack"):
        abuse.run_attack("nope", target, 1.0, None)
    assert set(abuse.ATTACKS) >= {"audio-bomb", "hands-free-flood", "huge-body"}
