"""The generator on a real OpenAI-compatible server: llama-cpp-python's own server (its `server` extra) on
the packaged SmolLM2 GGUF, in a subprocess on a free port, and a conversation through
`generator.backend = "openai-compatible"`, exactly as with vLLM or llama.cpp's server on another machine."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.events import IntentEvent, TurnDoneEvent, TurnRequest
from tests.robustness.conftest import free_port

pytestmark = pytest.mark.timeout(600)

START_GUARD_S = 120.0  # a hang guard: the 135M model loads in seconds
ALIAS = "smollm2-135m"
OPEN_QUESTIONS = ("how does a rainbow form", "why do cats purr", "tell me something about the moon")


def unavailable_reason() -> str | None:
    for module in ("llama_cpp", "sse_starlette", "starlette_context", "pydantic_settings", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install 'assistant[dev,llama]'; see scripts/setup.sh)"
    return None


def packaged_gguf() -> Path:
    from assistant.model_sources import source

    return source("smollm2").file("SmolLM2-135M-Instruct.Q4_1.gguf")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (…/v1) of `python -m llama_cpp.server` on the packaged model; stopped afterwards."""
    from assistant.bench.webclient import WebClientError, wait_until_up
    from assistant.offline import ModelNotAvailableError

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"llama.cpp server test skipped: {reason}")
    try:
        model = packaged_gguf()
    except ModelNotAvailableError as exc:
        pytest.skip(f"llama.cpp server test skipped: {exc}")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", ALIAS]
    args += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    with log.open("wb") as handle:
        process = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        try:
            wait_until_up(url, START_GUARD_S, process, path="/models")
        except WebClientError as exc:
            pytest.fail(f"llama_cpp.server: {exc}:\n{log.read_text()[-2000:]}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def test_the_server_names_the_packaged_model(llama_server: str) -> None:
    import httpx

    models = httpx.get(f"{llama_server}/models", timeout=10).json()
    assert [m["id"] for m in models["data"]] == [ALIAS]


def test_a_conversation_through_the_openai_compatible_backend(llama_server: str, tmp_path: Path) -> None:
    from assistant.config import load_settings
    from assistant.pipeline import Pipeline

    for key in [k for k in os.environ if k.startswith("ASSISTANT_")]:
        os.environ.pop(key)
    settings = load_settings(
        {
            "data_dir": tmp_path,
            "generator": {
                "backend": "openai-compatible",
                "url": llama_server,
                "model": ALIAS,
                "max_new_tokens": 24,
                "temperature": 0.0,
            },
        }
    )
    pipeline = Pipeline(settings)
    try:
        conversation_id = None
        replies = []
        for text in OPEN_QUESTIONS:
            events = list(pipeline.run(TurnRequest(user="lena", text=text, conversation_id=conversation_id)))
            done = events[-1]
            assert isinstance(done, TurnDoneEvent), events[-3:]
            routed = next(e for e in events if isinstance(e, IntentEvent)).routed_to
            assert routed == "generator", (text, routed)
            assert done.answered_by == f"openai-compatible:{ALIAS}", done.answered_by
            assert done.reply.strip()
            conversation_id = done.conversation_id
            replies.append(done.reply)
        user = pipeline.memory.user("lena")
        stored = pipeline.memory.recent_turns(user.id, conversation_id, 10)
        assert [t.user_text for t in stored] == list(OPEN_QUESTIONS)  # one conversation, all three stored
        assert [t.reply_text for t in stored] == replies
    finally:
        pipeline.runtime.close()
