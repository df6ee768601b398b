"""`assistant bench abuse`: the issue-18 attacks against a served web app while normal users talk.

First a quiet run (N users typing turns, `load.drive`), then one run per attack with the same users and
the attack looping beside them. Reported per run: the normal users' p50/p95 latency and errors, the
server process's peak resident memory (sampled every 100 ms), and what the attack got back (counts of
HTTP statuses or messages). Targets (issue 18): p95 within 2x of quiet, peak RSS under 1.5 GiB.

The attacks are the ones found by probing the server: a compressed audio bomb through push-to-talk,
a hands-free tick flood with pauses, NLU model names spelled many ways, 300 MB request bodies, uploads
of a thousand files, and a flood of new tabs. Only loopback URLs are driven (`load.check_loopback`).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.bench.load import drive, summarise

HANDS_FREE_RATE = 16_000
TICK_S = 0.25


@dataclass
class Target:
    """The server under attack: its URL, its process id (for memory) and a scratch folder."""

    url: str
    pid: int
    scratch: Path
    cache_dir: Path


class PeakMemory(threading.Thread):
    """Samples a process's resident memory (with its children) until stopped; `peak_mb` is the maximum."""

    def __init__(self, pid: int, every_s: float = 0.1) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        import psutil

        self._process = psutil.Process(pid)
        self._every_s = every_s
        self._finished = threading.Event()
        self.peak_mb = 0.0

    def run(self) -> None:
        import psutil

        while not self._finished.is_set():
            try:
                processes = [self._process, *self._process.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in processes)
            except psutil.Error:
                break
            self.peak_mb = max(self.peak_mb, rss / 1024 / 1024)
            self._finished.wait(self._every_s)

    def stop(self) -> float:
        self._finished.set()
        self.join(5)
        return round(self.peak_mb, 1)


# --- the attacks: each loops until the deadline and returns what it got back -----------------------

Outcomes = Counter[str]


def _client() -> Any:
    import httpx

    return httpx.Client(timeout=120)


def _tab(url: str, event: Any) -> Any:
    from assistant.bench.webclient import WebTab

    return WebTab(url, event, timeout_s=120)


def _error_kind(text: str) -> str:
    return " ".join(text.split())[:90]


def audio_bomb_file(folder: Path) -> Path:
    """~1.9 MB of FLAC, named .wav, that decodes to 20 minutes of 8-channel 192 kHz silence (7 GiB as
    float32); written block by block."""
    import soundfile as sf

    path = folder / "bomb.wav"
    if not path.exists():
        block = np.zeros((192_000 * 10, 8), dtype=np.int16)
        with sf.SoundFile(path, "w", samplerate=192_000, channels=8, format="FLAC", subtype="PCM_16") as f:
            for _ in range(120):
                f.write(block)
    return path


def attack_audio_bomb(target: Target, deadline: float) -> Outcomes:
    from assistant.bench.webclient import WebClientError, find_event

    bomb = audio_bomb_file(target.scratch)
    outcomes: Outcomes = Counter()
    with _client() as client:
        event = find_event(target.url, client, "mic", "stop_recording")
        while time.perf_counter() < deadline:
            tab = _tab(target.url, event)
            uploaded = client.post(
                f"{target.url}/gradio_api/upload", files=[("files", ("bomb.wav", bomb.read_bytes()))]
            )
            if uploaded.status_code != 200:
                outcomes[f"upload {uploaded.status_code}"] += 1
                time.sleep(0.5)
                continue
            path = uploaded.json()[0]
            file = {"path": path, "orig_name": "bomb.wav", "meta": {"_type": "gradio.FileData"}}
            try:
                message, toasts = tab.run(
                    event.fn_index, event.trigger_id, [file, None, *event.defaults[2:]], client
                )
                error = (message.get("output") or {}).get("error") or ""
                shown = json.dumps([out.get("data") for out in message["generated"]])
                outcomes[
                    _error_kind(error) if error else ("refused" if "longer than" in shown else "ran")
                ] += 1
            except WebClientError as exc:
                outcomes[_error_kind(str(exc))] += 1
    return outcomes


def speech_ticks(cache_settings: Any) -> list[np.ndarray]:
    """A spoken request cut into hands-free ticks, with a pause between phrases (each pause invites a
    hear-ahead), in the page's 16-bit PCM at 16 kHz."""
    from assistant.audio import resample
    from assistant.speech.tts import load_synthesizer

    synth = load_synthesizer(cache_settings)
    pieces: list[np.ndarray] = []
    for phrase in ("alexa, set a timer", "for five minutes", "and tell me a joke"):  # wakes the page
        chunks = [np.asarray(c.samples, dtype=np.float32).reshape(-1) for c in synth.stream(phrase)]
        pieces.append(resample(np.concatenate(chunks), synth.sample_rate, HANDS_FREE_RATE))
        pieces.append(np.zeros(int(0.3 * HANDS_FREE_RATE), dtype=np.float32))
    audio = np.concatenate(pieces)
    step = int(TICK_S * HANDS_FREE_RATE)
    return [audio[i : i + step] for i in range(0, len(audio), step)]


def _payload(samples: np.ndarray) -> str:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    return json.dumps(
        {"on": True, "rate": HANDS_FREE_RATE, "pcm": base64.b64encode(pcm).decode(), "muted": False}
    )


def attack_hands_free(target: Target, deadline: float, ticks: list[np.ndarray]) -> Outcomes:
    """One guest starts listening and posts ticks as fast as the server answers (the page sends four a
    second), restarting listening now and then (which once dropped queued work and let it loop)."""
    from assistant.bench.webclient import WebClientError, find_event

    outcomes: Outcomes = Counter()
    with _client() as client:
        start = find_event(target.url, client, "hands-free-start", "click")
        tick = find_event(target.url, client, "listen-payload", "tick", by_input=True)
        tab = _tab(target.url, start)
        while time.perf_counter() < deadline:
            try:
                tab.run(start.fn_index, start.trigger_id, ["ok", None], client)
                for samples in ticks:
                    message, _ = tab.run(tick.fn_index, None, [_payload(samples), None, None], client)
                    outcomes["tick ok" if message.get("success") else "tick refused"] += 1
                    if time.perf_counter() >= deadline:
                        break
            except WebClientError as exc:
                outcomes[_error_kind(str(exc))] += 1
                time.sleep(0.2)
    return outcomes


def attack_nlu_names(target: Target, deadline: float) -> Outcomes:
    """Turns that pick NLU models by many spellings of folders, inside and outside the cache."""
    from assistant.bench.webclient import WebClientError, find_turn_endpoint

    outcomes: Outcomes = Counter()
    shipped = Path(__file__).resolve().parents[2] / "nlu" / "shipped" / "lstm"
    with _client() as client:
        endpoint = find_turn_endpoint(target.url, client)
        tab = _tab(target.url, endpoint)
        for i in itertools.count():
            if time.perf_counter() >= deadline:
                break
            spelling = "/" * (i % 7 + 1)
            name = [f"{shipped}{spelling}", f"/nonexistent{spelling}{i}", f"{target.cache_dir}{spelling}nlu"][
                i % 3
            ]
            data = ["what time is it", None, name, *endpoint.defaults[1:]]
            try:
                message, toasts = tab.run(endpoint.fn_index, endpoint.trigger_id, data, client)
                shown = json.dumps([out.get("data") for out in message["generated"]])
                outcomes["refused" if "Unknown NLU model" in shown else "answered"] += 1
            except WebClientError as exc:
                outcomes[_error_kind(str(exc))] += 1
    return outcomes


def attack_huge_bodies(target: Target, deadline: float) -> Outcomes:
    import httpx

    def body() -> Any:
        block = b'{"data": ["' + b"x" * (1024 * 1024)
        for _ in range(300):
            yield block

    outcomes: Outcomes = Counter()
    with _client() as client:
        while time.perf_counter() < deadline:
            try:
                response = client.post(
                    f"{target.url}/gradio_api/queue/join",
                    content=body(),
                    headers={"content-type": "application/json"},
                )
                outcomes[f"HTTP {response.status_code}"] += 1
            except httpx.HTTPError:
                outcomes["connection closed by the server"] += 1
    return outcomes


def attack_many_files(target: Target, deadline: float) -> Outcomes:
    files = [("files", (f"f{i}.wav", b"RIFF" + bytes(60))) for i in range(1000)]
    outcomes: Outcomes = Counter()
    with _client() as client:
        while time.perf_counter() < deadline:
            response = client.post(f"{target.url}/gradio_api/upload", files=files)
            outcomes[f"HTTP {response.status_code}"] += 1
    return outcomes


def attack_new_tabs(target: Target, deadline: float) -> Outcomes:
    """New tabs as fast as the server opens them, each with a long message (the longest allowed)."""
    from assistant.bench.webclient import WebClientError, find_turn_endpoint

    outcomes: Outcomes = Counter()
    text = ("please remember this " * 1000)[:19_000]
    with _client() as client:
        endpoint = find_turn_endpoint(target.url, client)
        while time.perf_counter() < deadline:
            try:
                reply = _tab(target.url, endpoint).send(text, client)
                outcomes["answered" if reply.ok else "refused"] += 1
            except WebClientError as exc:
                outcomes[_error_kind(str(exc))] += 1
    return outcomes


ATTACKS: dict[str, str] = {
    "audio-bomb": "push-to-talk with a 1.9 MB FLAC of 20 min x 8 ch x 192 kHz",
    "hands-free-flood": "one guest's hands-free ticks with pauses, as fast as answered",
    "nlu-names": "turns picking NLU folders spelled many ways, inside and outside the cache",
    "huge-body": "300 MB JSON bodies to the event queue",
    "many-files": "uploads of 1000 files each",
    "new-tabs": "new tabs, each sending a 19,000-character message",
}


def run_attack(name: str, target: Target, seconds: float, settings: Any) -> Callable[[float], Outcomes]:
    """The attack `name` as a function of its deadline (what needs preparing is prepared now)."""
    if name == "audio-bomb":
        audio_bomb_file(target.scratch)
        return lambda deadline: attack_audio_bomb(target, deadline)
    if name == "hands-free-flood":
        ticks = speech_ticks(settings)
        return lambda deadline: attack_hands_free(target, deadline, ticks)
    simple = {
        "nlu-names": attack_nlu_names,
        "huge-body": attack_huge_bodies,
        "many-files": attack_many_files,
        "new-tabs": attack_new_tabs,
    }
    if name not in simple:
        raise ValueError(f"Unknown attack {name!r}; pick from {', '.join(ATTACKS)}.")
    attack = simple[name]
    return lambda deadline: attack(target, deadline)


def measure(
    target: Target, users: int, seconds: float, attack: Callable[[float], Outcomes] | None
) -> dict[str, Any]:
    """Normal users for `seconds` (with the attack beside them, when given): their latency, the server's
    peak memory, and the attack's outcomes."""
    sampler = PeakMemory(target.pid)
    sampler.start()
    outcomes: Outcomes = Counter()
    attacker: threading.Thread | None = None
    if attack is not None:
        deadline = time.perf_counter() + seconds

        def attack_loop() -> None:
            try:
                outcomes.update(attack(deadline))
            except Exception as exc:  # the attack's own failure is reported, not raised
                outcomes[f"attack failed: {_error_kind(str(exc))}"] += 1

        attacker = threading.Thread(target=attack_loop, daemon=True, name="attack")
        attacker.start()
    results, elapsed = drive(target.url, users, seconds)
    if attacker is not None:
        attacker.join(seconds + 300)
    run = summarise(results, elapsed, users)
    run["peak_rss_mb"] = sampler.stop()
    run["attack_outcomes"] = dict(outcomes.most_common(6))
    return run
