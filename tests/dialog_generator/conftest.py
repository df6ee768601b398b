"""Fixtures for the dialog generator tests: settings, the converted SmolLM2 folder, a fake chat server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assistant.config import Settings, load_settings


def generator_settings(**generator: Any) -> Settings:
    """Settings with the real cache folder (the converted model is shared with `assistant models prepare`)."""
    return load_settings({"device": "cpu", "generator": generator})


@pytest.fixture(scope="session")
def smollm2_folder():  # type: ignore[no-untyped-def]
    """The converted SmolLM2 safetensors folder (converts the GGUF once if set-up has not)."""
    from assistant.dialog.generators.smollm2 import ensure_converted

    return ensure_converted(load_settings().cache_dir)


@pytest.fixture(scope="session")
def smollm2(smollm2_folder):  # type: ignore[no-untyped-def]
    """SmolLM2 on transformers (auto dtype), greedy and short so tests stay fast and repeatable."""
    from assistant.dialog.generators import create_generator

    return create_generator(generator_settings(runtime="transformers", temperature=0.0, max_new_tokens=12))


@pytest.fixture(scope="session")
def llamacpp():  # type: ignore[no-untyped-def]
    """The default generator on CPU: SmolLM2's GGUF on llama.cpp, greedy and short."""
    from assistant.dialog.generators import create_generator

    return create_generator(generator_settings(temperature=0.0, max_new_tokens=12))


@pytest.fixture(scope="session")
def hf_fp32(smollm2_folder):  # type: ignore[no-untyped-def]
    """The `hf` backend on the converted folder, in float32 (also the reference for the int8 check)."""
    from assistant.dialog.generators import create_generator

    settings = generator_settings(backend="hf", model=str(smollm2_folder), temperature=0.0, max_new_tokens=6)
    return create_generator(settings)


@dataclass
class FakeChatServer:
    """An OpenAI-style /v1/chat/completions server on 127.0.0.1 that streams scripted pieces."""

    url: str = ""
    pieces: list[str] = field(default_factory=lambda: ["Hel", "lo", " there", "!"])
    status: int = 200
    error_body: str = ""
    delay_s: float = 0.0
    raw_events: list[str] | None = None  # sent instead of `pieces` when set
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def chat_server() -> Iterator[FakeChatServer]:
    state = FakeChatServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
            if state.delay_s:
                time.sleep(state.delay_s)
            if self.path != "/v1/chat/completions":
                self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}))
                return
            if state.status != 200:
                self._send(state.status, state.error_body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            events = state.raw_events
            if events is None:
                events = [json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})]
                events += [
                    json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]}) for p in state.pieces
                ]
                events += [
                    json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
                    "[DONE]",
                ]
            for event in events:
                self.wfile.write(f"data: {event}\n\n".encode())
                self.wfile.flush()

        def _send(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that timed out on purpose leaves a broken pipe behind: not news

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
