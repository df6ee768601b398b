"""Shared fixtures for the robustness suite: one real Pipeline (models load once), a private database,
the prepared model cache, and a served web app on 127.0.0.1 for the HTTP cases.

The NLU model is the product default (`lstm`), shipped in the repository, so this suite routes exactly as
it does on every other machine and never trains.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from platformdirs import user_cache_dir

from assistant.config import Settings, load_settings
from assistant.events import ErrorEvent, Event, TurnDoneEvent, TurnRequest

MODEL_CACHE = Path(user_cache_dir("assistant"))
TURN_GUARD_S = 300.0  # a hang guard, not a speed check: a turn that never ends fails instead of blocking


def nlu_model_name() -> str:
    return "lstm"  # the product default, shipped in the repository: the same model on every machine


def robust_overrides(data_dir: Path) -> dict[str, Any]:
    return {
        "data_dir": data_dir,
        "cache_dir": MODEL_CACHE,
        "nlu": {"model": nlu_model_name()},
        "generator": {"max_new_tokens": 12},  # short answers keep the suite fast; same code path
        "tts": {"deterministic": True},
    }


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")} | {"HF_HUB_OFFLINE": "1"}


def make_settings(data_dir: Path, **extra: Any) -> Settings:
    for key in [k for k in os.environ if k.startswith("ASSISTANT_")]:
        os.environ.pop(key)
    overrides = robust_overrides(data_dir)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(overrides.get(key), dict):
            overrides[key] = {**overrides[key], **value}
        else:
            overrides[key] = value
    return load_settings(overrides)


def run_turn(pipeline: Any, request: TurnRequest, guard_s: float = TURN_GUARD_S) -> list[Event]:
    """All events of one turn, in a worker thread so a hang fails the test instead of the whole run."""
    events: list[Event] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            events.extend(pipeline.run(request))
        except BaseException as exc:  # surfaced below: an exception escaping run() is itself a bug
            failure.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(guard_s)
    assert not worker.is_alive(), f"the turn did not finish within {guard_s:.0f} s (hang)"
    assert not failure, f"Pipeline.run raised instead of yielding an ErrorEvent: {failure[0]!r}"
    return events


def assert_clear_outcome(events: list[Event]) -> Event:
    """One terminal event (an error for the user, or a stored reply), readable and traceback-free."""
    assert events, "no events at all"
    last = events[-1]
    assert isinstance(last, ErrorEvent | TurnDoneEvent), f"turn ended with {last!r}"
    terminal = [e for e in events if isinstance(e, ErrorEvent | TurnDoneEvent)]
    assert len(terminal) == 1, terminal
    for event in events:
        message = getattr(event, "message", None) or (
            event.reply if isinstance(event, TurnDoneEvent) else None
        )
        if message is not None:
            assert "Traceback" not in message and 'File "' not in message, message
            assert len(message) < 2_000, f"message too long to be clear ({len(message)} chars)"
    if isinstance(last, ErrorEvent):
        assert last.message.strip(), "empty error message"
    else:
        assert last.reply.strip(), "empty reply"
    return last


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from assistant.memory.db import dispose_engine
    from assistant.pipeline import Pipeline

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    pipe = Pipeline(make_settings(tmp_path_factory.mktemp("robust-data")))
    pipe.runtime.warm_up()
    yield pipe
    pipe.runtime.close()
    dispose_engine(pipe.settings.database_url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, port: int, log: Path, warm_up: bool = False) -> subprocess.Popen:
    """`assistant serve` in its own process on 127.0.0.1 (a private database, the prepared models)."""
    env = clean_env() | {
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_CACHE_DIR": str(MODEL_CACHE),
        "ASSISTANT_NLU__MODEL": nlu_model_name(),
        "ASSISTANT_GENERATOR__MAX_NEW_TOKENS": "12",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ASSISTANT_WEB__GUEST_TABS": "true",  # each WebTab is its own user (the tests read theirs back)
        "ASSISTANT_WAKE__ENABLED": "false",  # hands-free requests here are said without the wake word
    }
    args = [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    args.append("--warm-up" if warm_up else "--no-warm-up")
    handle = log.open("ab")
    return subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="session")
def served_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, data dir) of a web app served for the HTTP cases; stopped at the end of the session."""
    from assistant.bench.webclient import wait_until_up

    data_dir = tmp_path_factory.mktemp("served-data")
    port = free_port()
    process = start_server(data_dir, port, data_dir / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, 240, process)
        yield url, data_dir
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
