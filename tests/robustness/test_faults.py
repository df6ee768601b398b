"""Faults: a failing stage degrades to a text reply with a clear notice and the conversation goes on; a
missing or corrupt model gives a start-up error naming the file; a read-only or full database gives a
clear error, not a hang; `kill -9` of the served app loses no acknowledged turn.

Faults are injected through settings (a voice path that does not exist, a generator URL nobody listens
on, a database URL opened read-only, a database on a full tmpfs), not by patching internals.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.events import NoticeEvent, TextEvent, TurnDoneEvent, TurnRequest
from assistant.memory import DatabaseError
from tests.robustness.conftest import (
    assert_clear_outcome,
    clean_env,
    free_port,
    make_settings,
    run_turn,
    start_server,
)

pytestmark = pytest.mark.slow


def _pipeline(data_dir: Path, **extra: Any):  # type: ignore[no-untyped-def]
    from assistant.pipeline import Pipeline

    return Pipeline(make_settings(data_dir, **extra))


def _closed_port() -> int:
    port = free_port()
    with socket.socket() as probe:  # nothing listens there: connecting is refused at once
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


# --- a stage that fails ---------------------------------------------------------------------------------


def test_missing_voice_gives_a_text_reply_with_a_notice(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, tts={"voice": "/nonexistent/voice.onnx"})
    try:
        events = run_turn(pipeline, TurnRequest(user="faulty-tts", text="what time is it", speak=True))
        done = assert_clear_outcome(events)
        assert isinstance(done, TurnDoneEvent) and done.reply
        notices = [e.message for e in events if isinstance(e, NoticeEvent)]
        assert any("/nonexistent/voice.onnx" in n and "text only" in n for n in notices), notices
        assert not any(e.kind == "audio" for e in events)
        again = assert_clear_outcome(
            run_turn(
                pipeline,
                TurnRequest(
                    user="faulty-tts",
                    text="add eggs to my shopping list",
                    speak=True,
                    conversation_id=done.conversation_id,
                ),
            )  # fmt: skip
        )
        assert isinstance(again, TurnDoneEvent) and "eggs" in again.reply.lower()
    finally:
        pipeline.runtime.close()


def test_generator_server_down_gives_a_notice_and_the_conversation_goes_on(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    pipeline = _pipeline(
        tmp_path, generator={"backend": "openai-compatible", "url": url, "model": "any", "timeout_s": 5}
    )
    try:
        events = run_turn(
            pipeline, TurnRequest(user="faulty-gen", text="why do cats purr when they are happy")
        )
        done = assert_clear_outcome(events)
        assert isinstance(done, TurnDoneEvent)
        notices = [e.message for e in events if isinstance(e, NoticeEvent)]
        assert any("generator failed" in n for n in notices), notices
        assert done.answered_by == "fallback" and done.reply == "".join(
            e.text for e in events if isinstance(e, TextEvent)
        )
        skill = assert_clear_outcome(
            run_turn(
                pipeline,
                TurnRequest(
                    user="faulty-gen", text="set a timer for 2 minutes", conversation_id=done.conversation_id
                ),
            )  # fmt: skip
        )
        assert isinstance(skill, TurnDoneEvent) and "2 minutes" in skill.reply
        turns = pipeline.memory.recent_turns(pipeline.memory.user("faulty-gen").id, done.conversation_id, 5)
        assert len(turns) == 2
    finally:
        pipeline.runtime.close()


# --- missing or corrupt model files at start-up ----------------------------------------------------------


@pytest.mark.parametrize("config", ["real", "broken"])
def test_corrupt_voice_file_fails_naming_the_file_and_the_fix(tmp_path: Path, config: str) -> None:
    """A truncated voice download (beside its real config), or a voice whose config is wrong."""
    import shutil

    from assistant.speech.tts import _default_piper_voice, load_synthesizer

    real = _default_piper_voice()
    voice = tmp_path / "broken.onnx"
    voice.write_bytes(real.read_bytes()[:100_000])
    if config == "real":
        shutil.copy(f"{real}.json", f"{voice}.json")
    else:
        Path(f"{voice}.json").write_text('{"audio": {"sample_rate": 22050}}')
    with pytest.raises(Exception) as info:
        load_synthesizer(make_settings(tmp_path, tts={"voice": str(voice)}))
    message = str(info.value)
    assert str(voice) in message and "tts.voice" in message, message


def test_missing_nlu_model_folder_fails_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "my-intent-model"
    folder.mkdir()
    (folder / "config.json").write_text("{ not json")
    from assistant.nlu_models import load_intent_model

    with pytest.raises(Exception) as info:
        load_intent_model(str(folder), make_settings(tmp_path))
    assert "my-intent-model" in str(info.value), str(info.value)


def test_serve_with_a_missing_voice_exits_with_a_clear_message(tmp_path: Path) -> None:
    """`assistant serve` warms up the models first: a missing voice stops it with the path, no traceback."""
    env = clean_env() | {
        "ASSISTANT_DATA_DIR": str(tmp_path),
        "ASSISTANT_TTS__VOICE": str(tmp_path / "missing-voice.onnx"),
        "ASSISTANT_NLU__MODEL": make_settings(tmp_path).nlu.model,
        "COLUMNS": "1000",  # rich would wrap the path in the message
        # an API generator loads instantly (nothing listens there, and nothing is asked before the voice fails)
        "ASSISTANT_GENERATOR__BACKEND": "openai-compatible",
        "ASSISTANT_GENERATOR__URL": f"http://127.0.0.1:{_closed_port()}/v1",
        "ASSISTANT_GENERATOR__MODEL": "any",
    }
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "missing-voice.onnx" in output and "Cannot start the web app" in output, output[-2000:]
    assert "tts.voice" in output, "the message should say how to fix it"
    assert "Traceback" not in output


# --- the database ---------------------------------------------------------------------------------------


def _turn_or_database_error(pipeline: Any, text: str) -> str:
    """The user-facing message of a turn on a broken database: an ErrorEvent, or a DatabaseError."""
    result: list[Any] = []

    def work() -> None:
        try:
            result.append(list(pipeline.run(TurnRequest(user="db-user", text=text))))
        except DatabaseError as exc:
            result.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "the turn hung on the broken database"
    outcome = result[0]
    if isinstance(outcome, DatabaseError):
        return str(outcome)
    last = outcome[-1]
    assert last.kind == "error", f"a turn on a broken database was answered as if stored: {last!r}"
    return last.message


def test_read_only_database_gives_a_clear_error(tmp_path: Path) -> None:
    from assistant.memory import open_memory
    from assistant.memory.db import dispose_engine

    writable = make_settings(tmp_path)
    open_memory(writable).user("db-user")  # create and migrate it
    dispose_engine(writable.database_url)
    path = tmp_path / "assistant.db"
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    try:
        pipeline = _pipeline(tmp_path, database_url=url)
    except DatabaseError as exc:  # refusing to open is a clear answer too
        assert "read-only" in str(exc) or "readonly" in str(exc)
        return
    try:
        message = _turn_or_database_error(pipeline, "add milk to my shopping list")
        assert "read-only" in message, message
        assert "Traceback" not in message
    finally:
        pipeline.runtime.close()
        dispose_engine(url)


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 2 MiB tmpfs (root only): a disk that really fills up."""
    mount_point = tmp_path / "tiny-disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to simulate a full disk here: {result.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_full_disk_gives_a_clear_error_not_a_hang(tiny_tmpfs: Path) -> None:
    from assistant.memory.db import dispose_engine

    pipeline = _pipeline(tiny_tmpfs)
    try:
        run_turn(pipeline, TurnRequest(user="db-user", text="what time is it"))  # created and usable
        filler = tiny_tmpfs / "filler"
        with filler.open("wb", buffering=0) as handle:  # take every remaining byte (unbuffered: nothing
            try:  # is left to flush at close, which would raise the same "no space" again)
                while True:
                    handle.write(b"\0" * 4096)
            except OSError:
                pass
        # a big item needs new pages: SQLite must grow the WAL, and cannot
        message = _turn_or_database_error(pipeline, "add " + "flour " * 20_000 + "to my shopping list")
        assert "full" in message, message
        assert "Traceback" not in message
        filler.unlink()  # space is back: the same pipeline works again
        done = assert_clear_outcome(run_turn(pipeline, TurnRequest(user="db-user", text="what time is it")))
        assert isinstance(done, TurnDoneEvent)
        assert pipeline.memory.db.integrity_check() == "ok"
    finally:
        pipeline.runtime.close()
        dispose_engine(pipeline.settings.database_url)


# --- kill -9 of the served app ---------------------------------------------------------------------------


def test_kill_9_mid_conversation_loses_no_acknowledged_turn(tmp_path: Path) -> None:
    import httpx

    from assistant.bench.webclient import WebClientError, WebTab, find_turn_endpoint, wait_until_up
    from assistant.memory import open_memory
    from assistant.memory.db import dispose_engine

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    server = start_server(tmp_path, port, log)
    acknowledged: list[tuple[str, str]] = []  # (user name, text) of turns the page showed a reply for
    try:
        wait_until_up(url, 240, server)
        with httpx.Client() as client:
            endpoint = find_turn_endpoint(url, client)
            tabs = [WebTab(url, endpoint) for _ in range(2)]
            for i, text in enumerate(["add apples to my shopping list", "set a timer for 7 minutes",
                                      "add pears to my shopping list", "what time is it"]):  # fmt: skip
                tab = tabs[i % 2]
                answer = tab.send(text, client)
                assert answer.ok and answer.reply, answer
                acknowledged.append((tab.user_name, text))

            in_flight: list[Any] = []

            def slow_turn() -> None:
                try:
                    in_flight.append(tabs[0].send("tell me a long story about a lighthouse", httpx.Client()))
                except WebClientError as exc:
                    in_flight.append(exc)

            worker = threading.Thread(target=slow_turn, daemon=True)
            worker.start()
            time.sleep(1.0)  # the turn is queued or running when the server dies
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(30)
            worker.join(60)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(30)

    # restart on the same database: everything acknowledged is there, the file is intact
    settings = make_settings(tmp_path)
    memory = open_memory(settings)
    try:
        assert memory.db.integrity_check() == "ok"
        for user_name, text in acknowledged:
            user = memory.user(user_name)
            stored = [t.user_text for c in memory.list_conversations(user.id) for t in
                      memory.recent_turns(user.id, c.id, 50)]  # fmt: skip
            assert text in stored, f"acknowledged turn {text!r} of {user_name} was lost"
    finally:
        dispose_engine(settings.database_url)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(tmp_path, port, log)
    try:
        wait_until_up(url, 240, server)
        with httpx.Client() as client:
            tab = WebTab(url, find_turn_endpoint(url, client))
            answer = tab.send("what is on my shopping list", client)
            assert answer.ok and answer.reply, answer
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
