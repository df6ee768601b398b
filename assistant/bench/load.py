"""`assistant bench load`: N simulated users type turns into the web app at once, for a bounded time.

Each user is one browser tab (its own Gradio session and guest user) sending the next message as soon as
the previous reply arrives, over the same HTTP queue protocol as the page (`webclient`). Only loopback
URLs are accepted and every user stops at the deadline, so the traffic stays on this machine and ends by
itself. Afterwards every acknowledged turn (a reply the tab received) is looked up in the database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.config import Settings, web_processes

SKILL_TURNS = (
    "what time is it",
    "set a timer for {n} minutes",
    "add item {n} to my shopping list",
    "what is {n} plus 17",
    "what is on my shopping list",
)
OPEN_TURNS = ("tell me something about the moon", "why do cats purr")


class LoadError(RuntimeError):
    """The load test cannot run as asked (not loopback, server did not start); the message says why."""


@dataclass(frozen=True)
class TurnResult:
    user: str
    text: str
    ok: bool
    seconds: float
    started: float  # seconds since the run began
    error: str = ""


def check_loopback(url: str) -> str:
    from assistant.net import is_loopback

    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise LoadError(f"{url!r} is not an http(s) URL.")
    if not is_loopback(parsed.hostname):
        raise LoadError(f"{url} is not on this machine; the load test only drives 127.0.0.1 / localhost.")
    return url.rstrip("/")


def message(user_index: int, turn: int, open_share: float, rng: np.random.Generator) -> str:
    if open_share > 0 and rng.random() < open_share:
        return OPEN_TURNS[turn % len(OPEN_TURNS)]
    template = SKILL_TURNS[(user_index + turn) % len(SKILL_TURNS)]
    return template.format(n=(user_index * 7 + turn) % 50 + 1)


def drive(url: str, users: int, seconds: float, open_share: float = 0.0) -> tuple[list[TurnResult], float]:
    """Run the users until `seconds` have passed (a turn in flight at the deadline is let finish)."""
    import httpx

    from assistant.bench.webclient import WebClientError, WebTab, find_turn_endpoint, page_url

    with httpx.Client() as client:
        endpoint = find_turn_endpoint(url, client)
    results: list[TurnResult] = []
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def user(index: int) -> None:
        rng = np.random.default_rng(index)
        limits = httpx.Limits(max_connections=4)
        with httpx.Client(limits=limits) as client:
            tab = WebTab(page_url(url, client), endpoint, timeout_s=max(60.0, seconds * 2))
            turn = 0
            while time.perf_counter() < deadline:
                text = message(index, turn, open_share, rng)
                began = time.perf_counter()
                try:
                    reply = tab.send(text, client)
                    ok = reply.ok and bool(reply.reply)
                    error = "" if ok else "; ".join(reply.messages) or "no reply"
                except WebClientError as exc:
                    ok, error = False, str(exc)
                result = TurnResult(
                    tab.user_name, text, ok, time.perf_counter() - began, began - start, error
                )
                with lock:
                    results.append(result)
                turn += 1
                if not ok:
                    time.sleep(0.5)  # a failing server is not hammered in a tight loop

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 600)  # a turn never takes 10 minutes; daemons die with the process anyway
    return results, time.perf_counter() - start


def verify_stored(settings: Settings, results: list[TurnResult]) -> dict[str, Any]:
    """Every acknowledged turn must be in the database (per user, the same texts at least as often)."""
    from assistant.memory import open_memory

    memory = open_memory(settings)
    acknowledged: dict[str, Counter[str]] = {}
    for result in results:
        if result.ok:
            acknowledged.setdefault(result.user, Counter())[result.text] += 1
    missing = 0
    for name, expected in acknowledged.items():
        user = memory.user(name)
        stored: Counter[str] = Counter()
        for conversation in memory.list_conversations(user.id, limit=1000):
            stored.update(t.user_text for t in memory.recent_turns(user.id, conversation.id, 100_000))
        missing += sum((expected - stored).values())
    return {
        "acknowledged": sum(sum(c.values()) for c in acknowledged.values()),
        "missing": missing,
        "integrity": memory.db.integrity_check(),
    }


def summarise(results: list[TurnResult], elapsed: float, users: int) -> dict[str, Any]:
    ok = [r.seconds * 1000 for r in results if r.ok]
    errors = Counter(r.error[:120] for r in results if not r.ok)
    return {
        "users": users,
        "seconds": round(elapsed, 1),
        "turns": len(results),
        "ok": len(ok),
        "errors": len(results) - len(ok),
        "throughput_turns_per_s": round(len(ok) / elapsed, 3) if elapsed else 0.0,
        "latency_p50_ms": round(float(np.percentile(ok, 50)), 1) if ok else None,
        "latency_p95_ms": round(float(np.percentile(ok, 95)), 1) if ok else None,
        "latency_max_ms": round(max(ok), 1) if ok else None,
        "error_kinds": dict(errors.most_common(5)),
    }


def free_ports(count: int, tries: int = 50) -> int:
    """A port on 127.0.0.1 that is free with the `count - 1` after it (for `web.workers`)."""
    import socket

    for _ in range(tries):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        if base + count > 65535:
            continue
        try:
            for port in range(base + 1, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise LoadError(f"No {count} free ports in a row on 127.0.0.1.")


class LocalServer:
    """`assistant serve` on a free 127.0.0.1 port over a private database; stopped on exit."""

    def __init__(self, settings: Settings, timeout_s: float = 300.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-load-")
        self.data_dir = Path(self._tmp.name)
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> LocalServer:

        from assistant.bench.webclient import WebClientError, wait_until_up

        port = free_ports(web_processes(self.settings))
        env = (
            {k: v for k, v in os.environ.items() if k != "ASSISTANT_DATABASE_URL"}
            | {
                "ASSISTANT_DATA_DIR": str(self.data_dir),
                "ASSISTANT_CACHE_DIR": str(self.settings.cache_dir),
                "ASSISTANT_NLU__MODEL": self.settings.nlu.model,
                "ASSISTANT_WEB__GUEST_TABS": "true",  # each simulated tab is its own user, as `verify_stored` reads
                "ASSISTANT_WEB__WORKERS": str(self.settings.web.workers),
                "HF_HUB_OFFLINE": "1",
                "GRADIO_ANALYTICS_ENABLED": "False",
            }
        )
        log = (self.data_dir / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(self.url, self.timeout_s, self.process)
        except WebClientError as exc:
            tail = (self.data_dir / "server.log").read_text(errors="replace")[-1500:]
            self.__exit__(None, None, None)  # not entered as far as `with` knows: stop it here
            raise LoadError(f"The web app did not start: {exc}\n{tail}") from exc
        return self

    def server_settings(self) -> Settings:
        url = f"sqlite:///{self.data_dir / 'assistant.db'}"
        return self.settings.model_copy(update={"data_dir": self.data_dir, "database_url": url})

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)

    def cleanup(self) -> None:
        from assistant.memory.db import dispose_engine

        dispose_engine(self.server_settings().database_url)
        self._tmp.cleanup()
