"""Issue 18, item 3: a hands-free flood of pauses cannot fan out into background transcriptions.

Each hands-free tick that holds a pause in speech invites a transcription started early (hearing ahead).
These tests feed real speech (the offline Piper voice) and real end-pointing (Silero, through
`Listening.endpointer` and the web page's `HandsFree.on_listen`) a tick with a pause every time, 150 times,
and check what that costs: at most one transcription in flight per tab, at most `MAX_HEARING_AHEAD` in
all, no thread per tick, nothing new started once the tab stops, and a turn whose hear-ahead was skipped
still transcribed right. The recogniser behind the hear-ahead is a test double for its cost only: a real
function that blocks until the test lets it finish, and counts the calls in flight. The last test floods
a served web app over HTTP, as the issue's probe did, and counts the server's threads and CPU time.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from functools import partial
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from assistant.config import WakeSettings
from assistant.listening import Listening
from assistant.speech.ahead import MAX_HEARING_AHEAD, HeardAhead, shared_pool, use_or_transcribe
from assistant.speech.endpoint import Endpointer
from assistant.speech.types import SAMPLE_RATE, Transcript
from tests.robustness.conftest import make_settings
from ui.hands_free import HandsFree, stop_listening
from ui.session import WebSession

TICKS = 150  # the probe: 150 ticks from one guest
RESTART_EVERY = 50  # ticks between the attacker's restarts of listening (which clear pending work)
RELEASE_EVERY = 25  # ticks between the moments the slow recogniser is let go
GUARD_S = 120.0  # a hang guard, not a speed check


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def payload(samples: np.ndarray, on: bool = True) -> str:
    """What the page posts every tick (ui/voice.py decode_payload): 16-bit PCM, base64, in JSON."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    return json.dumps(
        {"on": on, "rate": SAMPLE_RATE, "muted": False, "error": "", "pcm": base64.b64encode(pcm).decode()}
    )


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {GUARD_S:.0f} s (hang)"
        time.sleep(0.01)


class SlowRecognizer:
    """Stands in for the recogniser's cost: every call blocks until the test opens the gate. Counts the
    calls per tab, the most in flight at once per tab and in all, and the threads alive meanwhile."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = False
        self.calls: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.peak_per_tab: Counter[str] = Counter()
        self.peak_all = 0
        self.peak_threads = 0

    def transcribe(self, tab: str, samples: np.ndarray) -> Transcript:
        with self._cond:
            self.calls[tab] += 1
            self.in_flight[tab] += 1
            self.peak_per_tab[tab] = max(self.peak_per_tab[tab], self.in_flight[tab])
            self.peak_all = max(self.peak_all, sum(self.in_flight.values()))
            self.peak_threads = max(self.peak_threads, threading.active_count())
            try:
                self._cond.wait_for(lambda: self._open, timeout=GUARD_S)
            finally:
                self.in_flight[tab] -= 1
        return Transcript(text=f"{len(samples)} samples", language="en", confidence=1.0)

    def release(self) -> None:
        """Let every call in flight finish, wait until the shared pool is idle, then close again."""
        with self._cond:
            self._open = True
            self._cond.notify_all()
        wait_until(lambda: shared_pool().in_flight == 0, "the hear-ahead pool draining")
        with self._cond:
            self._open = False

    def open_for_good(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_settings(tmp_path_factory.mktemp("hear-ahead"))


@pytest.fixture(scope="module")
def spoken(settings: Any) -> np.ndarray:
    """'What time is it?' in the offline Piper voice, at 16 kHz."""
    from assistant.audio import resample
    from assistant.speech.tts import load_synthesizer

    synth = load_synthesizer(settings)
    speech = np.concatenate(
        [np.asarray(c.samples, dtype=np.float32) for c in synth.stream("What time is it?")]
    )
    return resample(speech, synth.sample_rate, SAMPLE_RATE)


@pytest.fixture(scope="module")
def tick(spoken: np.ndarray) -> np.ndarray:
    """One attacker tick: 0.3 s of speech, then 0.2 s of silence, so each tick ends in a pause."""
    return np.concatenate([spoken[int(0.1 * SAMPLE_RATE) : int(0.4 * SAMPLE_RATE)], silence(0.2)])


@pytest.fixture
def slow() -> Iterator[SlowRecognizer]:
    recognizer = SlowRecognizer()
    yield recognizer
    recognizer.open_for_good()  # never leave a worker blocked: the pool's threads are joined at exit
    wait_until(lambda: shared_pool().in_flight == 0, "the hear-ahead pool draining")


def tab_listener(settings: Any, transcribe: Callable[[np.ndarray], Transcript]) -> Endpointer:
    """A tab's end-pointer exactly as the web app makes it (`Listening.endpointer`), over a runtime
    whose only model is `transcribe`; without early ends, which would ask the NLU."""
    runtime = SimpleNamespace(settings=settings, recognizer=lambda: SimpleNamespace(transcribe=transcribe))
    return Listening(runtime).endpointer(early_end=False)  # type: ignore[arg-type]


def recorded(listener: Endpointer) -> list[HeardAhead[Any]]:
    """The hear-aheads this listener starts (the refused ones, started while the pool was full, too)."""
    started: list[HeardAhead[Any]] = []
    start = listener.hear_ahead
    assert start is not None

    def record(audio: np.ndarray) -> HeardAhead[Any]:
        started.append(start(audio))
        return started[-1]

    listener.hear_ahead = record
    return started


class Page(HandsFree):
    """The web page's hands-free handlers; a tab's end-pointer is already on its session, and every
    session's user exists."""

    pipeline = SimpleNamespace(
        memory=SimpleNamespace(get_user=lambda user_id: user_id),
        runtime=SimpleNamespace(
            settings=SimpleNamespace(wake=WakeSettings(enabled=False))
        ),  # every pause heard
    )
    settings = SimpleNamespace(  # each tab its own guest, as before there was one owner
        web=SimpleNamespace(guest_tabs=True), host="127.0.0.1", share=False, owner="owner"
    )


def test_a_flood_of_pauses_keeps_one_transcription_per_tab_and_few_in_all(
    settings: Any, tick: np.ndarray, slow: SlowRecognizer
) -> None:
    page = Page()
    sessions = {
        f"tab-{i}": WebSession(
            f"guest-{i}", user_id=i, listening=tab_listener(settings, partial(slow.transcribe, f"tab-{i}"))
        )
        for i in range(3)
    }
    pauses = 0
    for session in sessions.values():  # count the pauses the detector offers: each invites a hear-ahead
        detector = session.listening.detector
        offer = detector.pause

        def counted(offer: Callable[[], Any] = offer) -> Any:
            nonlocal pauses
            audio = offer()
            pauses += audio is not None
            return audio

        detector.pause = counted
    before = threading.active_count()
    peak = before
    for n in range(TICKS):
        for session in sessions.values():
            if n % RESTART_EVERY == 0:  # Start listening again before an utterance is parked, as a page can
                assert page.on_listen_start("ok", session, SimpleNamespace())[2] == "Listening…"
            _, status, _ = page.on_listen(payload(tick), session, 0)
            assert "Stopped" not in str(status) and "Answering" not in str(status), status
        peak = max(peak, threading.active_count())
        if n % RELEASE_EVERY == RELEASE_EVERY - 1:
            slow.release()
    slow.release()
    calls = sum(slow.calls.values())
    assert pauses >= 0.9 * TICKS * len(sessions), "the flood should pause in (nearly) every tick"
    assert max(slow.peak_per_tab.values()) == 1, slow.peak_per_tab
    assert slow.peak_all <= MAX_HEARING_AHEAD
    assert max(peak, slow.peak_threads) - before <= MAX_HEARING_AHEAD  # no thread per tick
    assert sum(t.name.startswith("hear-ahead") for t in threading.enumerate()) <= MAX_HEARING_AHEAD
    # at most the cap's worth per release (and once more at the end), not one per pause; but some
    assert TICKS // RELEASE_EVERY <= calls <= (TICKS // RELEASE_EVERY + 1) * MAX_HEARING_AHEAD, calls


def test_stopping_cancels_what_waits_and_drops_what_runs(
    settings: Any, tick: np.ndarray, slow: SlowRecognizer
) -> None:
    page = Page()
    listener = tab_listener(settings, partial(slow.transcribe, "tab"))
    session = WebSession("guest-stop", user_id=1, listening=listener)
    started = recorded(listener)
    stop = payload(np.zeros(0), on=False)
    for _ in range(10):
        page.on_listen(payload(tick), session, 0)
        if started:
            break
    running = started[0]
    wait_until(lambda: slow.calls["tab"] == 1, "the first pause's transcription starting")
    assert running.in_flight() and not running.done()
    _, status, timer = page.on_listen(stop, session, 0)  # the page stopped listening
    assert status == "Not listening." and timer.active is False
    assert running.cancelled() and not running.matches(running.audio)  # its result will not be used
    # Listening again while the dropped one still runs: the new pauses wait, and stop cancels them.
    assert page.on_listen_start("ok", session, SimpleNamespace())[2] == "Listening…"
    for _ in range(20):
        page.on_listen(payload(tick), session, 0)
    page.on_listen_stop(session)
    slow.release()
    assert not running.in_flight()
    with pytest.raises(CancelledError):
        running.result(timeout=0)
    for _ in range(5):  # the tab is not fed again, or only silence: nothing new starts
        page.on_listen(payload(silence(0.5)), session, 0)
    assert slow.calls["tab"] == 1 and len(started) == 1
    stop_listening(None)  # a session that ends before it listened (Gradio's delete callback) is fine
    stop_listening(WebSession("guest-idle"))


def test_restarting_listening_again_and_again_starts_no_more_work(
    settings: Any, tick: np.ndarray, slow: SlowRecognizer
) -> None:
    listener = tab_listener(settings, partial(slow.transcribe, "tab"))
    for _ in range(50):  # the page's Start listening clears pending work: once that let the work loop
        listener.reset()
        listener.feed(tick)
        listener.feed(tick)
    wait_until(lambda: slow.calls["tab"] >= 1, "the first pause's transcription starting")
    assert slow.calls["tab"] == 1 and slow.peak_per_tab["tab"] == 1
    slow.release()
    listener.feed(tick)  # once the dropped one has finished, a pause is heard ahead again
    listener.feed(tick)
    wait_until(lambda: slow.calls["tab"] >= 2, "the next pause's transcription starting")
    assert slow.calls["tab"] == 2
    slow.release()


@pytest.fixture(scope="module")
def recognizer(settings: Any) -> Any:
    from assistant.speech.asr import load_recognizer

    return load_recognizer(settings)


def heard_request(listener: Endpointer, audio: np.ndarray, step: int = 4000) -> Any:
    for i in range(0, len(audio), step):
        heard = listener.feed(audio[i : i + step])
        if heard:
            return heard[0]
    return listener.flush()


def fill_the_pool(settings: Any, slow: SlowRecognizer, tick: np.ndarray) -> list[Endpointer]:
    """Other tabs' hear-aheads, blocked: the shared pool has no room left."""
    tabs = [tab_listener(settings, partial(slow.transcribe, f"busy-{i}")) for i in range(MAX_HEARING_AHEAD)]
    for i, listener in enumerate(tabs):
        for _ in range(10):
            listener.feed(tick)
            if shared_pool().in_flight == i + 1:
                break
    wait_until(lambda: len(+slow.in_flight) == MAX_HEARING_AHEAD, "the other tabs' transcriptions starting")
    assert shared_pool().in_flight == MAX_HEARING_AHEAD
    return tabs


def test_a_request_whose_hear_ahead_was_skipped_is_transcribed_at_the_end(
    settings: Any, spoken: np.ndarray, tick: np.ndarray, slow: SlowRecognizer, recognizer: Any
) -> None:
    from assistant.bench.wer import whisper_normalizer

    normalize = whisper_normalizer()[1]
    fill_the_pool(settings, slow, tick)
    listener = tab_listener(settings, recognizer.transcribe)
    started = recorded(listener)
    heard = heard_request(listener, np.concatenate([silence(0.4), spoken, silence(1.0)]))
    assert heard is not None and heard.heard_ahead is None  # the pool was full at every chance
    assert started and all(ahead.cancelled() and not ahead.in_flight() for ahead in started)
    audio = heard.utterance.audio
    transcript, was_ahead = use_or_transcribe(heard.heard_ahead, audio, lambda: recognizer.transcribe(audio))
    assert not was_ahead and normalize(transcript.text).split() == normalize("What time is it?").split()
    slow.release()


def test_a_skipped_hear_ahead_starts_when_the_pool_has_room_again(
    settings: Any, spoken: np.ndarray, tick: np.ndarray, slow: SlowRecognizer, recognizer: Any
) -> None:
    from assistant.bench.wer import whisper_normalizer

    normalize = whisper_normalizer()[1]
    fill_the_pool(settings, slow, tick)
    listener = tab_listener(settings, recognizer.transcribe)
    started = recorded(listener)
    speech = np.concatenate([silence(0.4), spoken, silence(0.15)])
    assert not listener.feed(speech) and started and started[-1].cancelled()  # paused; pool full
    slow.release()  # the other tabs' transcriptions end
    heard = heard_request(listener, silence(1.0), step=512)
    assert heard is not None and heard.heard_ahead is not None and not heard.heard_ahead.cancelled()
    transcript, was_ahead = use_or_transcribe(
        heard.heard_ahead, heard.utterance.audio, lambda: pytest.fail("heard ahead, not again")
    )
    assert was_ahead and normalize(transcript.text).split() == normalize("What time is it?").split()


def test_a_refused_hear_ahead_starts_nothing_and_matches_nothing() -> None:
    from assistant.speech.ahead import HearAheadPool

    gate = threading.Event()
    pool = HearAheadPool(workers=1)
    calls: list[int] = []

    def transcribe(audio: np.ndarray) -> int:
        calls.append(len(audio))
        gate.wait(GUARD_S)
        return len(audio)

    audio = silence(1.0)
    first = HeardAhead(audio, transcribe, pool)
    wait_until(lambda: bool(calls), "the first transcription starting")
    refused = HeardAhead(audio, transcribe, pool)
    assert refused.cancelled() and refused.done() and not refused.in_flight()
    assert not refused.matches(audio) and pool.in_flight == 1
    gate.set()
    assert first.result(timeout=GUARD_S) == len(audio) and first.matches(audio)
    wait_until(lambda: pool.in_flight == 0, "the pool draining")
    assert calls == [len(audio)]
    value, was_ahead = use_or_transcribe(refused, audio, lambda: -1)
    assert (value, was_ahead) == (-1, False)
    with pytest.raises(ValueError, match="at least one worker"):
        HearAheadPool(workers=0)


def server_process(url: str) -> Any:
    """The `assistant serve` process behind `url` (the `served_app` fixture starts it on a free port)."""
    import psutil

    port = url.rsplit(":", 1)[1]
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "serve" in cmdline and "--port" in cmdline and port in cmdline:
            return process
    pytest.fail(f"no server process listening on port {port}")


def cpu_seconds(process: Any) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def wait_until_quiet(process: Any, window_s: float = 1.0) -> float:
    """Wait until the server spends under 5% of a core for a whole window; returns its CPU seconds then.
    (A hang guard bounds the wait; the test checks CPU seconds, never how long this took.)"""
    deadline = time.monotonic() + 600
    last = cpu_seconds(process)
    while True:
        time.sleep(window_s)
        now = cpu_seconds(process)
        if now - last < 0.05 * window_s:
            return now
        assert time.monotonic() < deadline, "the server never went quiet"
        last = now


class ThreadPeak(threading.Thread):
    """Samples a process's thread count (every thread, native ones too) until stopped."""

    def __init__(self, process: Any) -> None:
        super().__init__(daemon=True, name="thread-sampler")
        self.process = process
        self.peak = process.num_threads()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            self.peak = max(self.peak, self.process.num_threads())


@pytest.mark.slow
def test_a_served_app_flooded_with_pauses_stays_bounded(
    served_app: Any, spoken: np.ndarray, tick: np.ndarray
) -> None:
    """The issue's probe over HTTP: one guest posts 150 hands-free ticks, each ending in a pause, as fast as
    the server answers, restarting listening now and then. Before: a thread per pause (45 threads, ~5
    minutes of CPU). Now: the server's thread count grows by at most the pool's cap, and once the flood
    stops, what is left to run is at most a few transcriptions."""
    import httpx

    from assistant.bench.webclient import WebTab, find_event

    url, _ = served_app
    server = server_process(url)
    with httpx.Client(timeout=120) as client:
        start = find_event(url, client, "hands-free-start", "click")
        listen = find_event(url, client, "listen-payload", "tick", by_input=True)
        tab = WebTab(url, start, timeout_s=120)

        def post(samples: np.ndarray) -> str:
            message, _ = tab.run(listen.fn_index, None, [payload(samples), None, 0], client)
            assert message.get("success"), message
            return json.dumps((message.get("output") or {}).get("data"))

        def start_listening() -> None:
            message, _ = tab.run(start.fn_index, start.trigger_id, ["ok", None], client)
            assert message.get("success") and "Listening" in json.dumps(message["output"]["data"]), message

        # Warm up as a real user would: one request heard (the tab's detector, the recogniser, a worker).
        start_listening()
        request = np.concatenate([silence(0.5), spoken, silence(1.0)])
        statuses = [post(request[i : i + 4000]) for i in range(0, len(request), 4000)]
        assert any("Heard you" in status for status in statuses), statuses
        quiet_cpu = wait_until_quiet(server)
        threads_before = server.num_threads()
        sampler = ThreadPeak(server)
        sampler.start()
        try:
            for n in range(TICKS):
                if n % RESTART_EVERY == 0:
                    start_listening()  # clears the parked utterance, as the attacker's page can
                status = post(tick)
                assert "Stopped" not in status, status
        finally:
            sampler.stopped.set()
            sampler.join()
        flood_cpu = cpu_seconds(server) - quiet_cpu
        drained = wait_until_quiet(server)
    drain_cpu = drained - quiet_cpu - flood_cpu
    measured = f"threads {threads_before} -> {sampler.peak}, CPU s {flood_cpu:.1f} + {drain_cpu:.1f} after"
    # the pool's workers, plus Gradio's own request threads (measured: +1; before the fix: +135)
    assert sampler.peak - threads_before <= MAX_HEARING_AHEAD + 2, measured
    # what is left once the flood stops is what was in flight: at most a transcription or two
    # (measured: 7 CPU s; before the fix, 96 CPU s of queued transcriptions)
    assert drain_cpu <= 30, measured
