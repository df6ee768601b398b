"""The openai-compatible backend against a fake local chat server: streaming and clear errors."""

from __future__ import annotations

import json
import socket

import pytest

from assistant.dialog.generators import GeneratorError, generate_text, load_generator
from assistant.dialog.generators.openai_compat import chat_url
from assistant.dialog.types import Message

from .conftest import FakeChatServer, generator_settings

MESSAGES = [Message("system", "Be brief."), Message("user", "Say hello.")]


def make(server_url: str, **extra):  # type: ignore[no-untyped-def]
    settings = generator_settings(backend="openai-compatible", url=server_url, model="tiny", **extra)
    return load_generator(settings)


def test_streams_pieces_and_sends_the_request(chat_server: FakeChatServer) -> None:
    generator = make(chat_server.url + "/v1", api_key="sk-test", max_new_tokens=20, temperature=0.3)
    assert list(generator.stream(MESSAGES)) == ["Hel", "lo", " there", "!"]
    request = chat_server.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["stream"] is True and body["model"] == "tiny" and body["max_tokens"] == 20
    assert body["temperature"] == 0.3
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello."},
    ]


def test_base_url_without_v1_and_no_key(chat_server: FakeChatServer) -> None:
    assert generate_text(make(chat_server.url), MESSAGES) == "Hello there!"
    assert chat_server.requests[-1]["auth"] is None
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"


def test_http_errors_are_clear(chat_server: FakeChatServer) -> None:
    chat_server.status = 401
    chat_server.error_body = json.dumps({"error": {"message": "Invalid API key"}})
    with pytest.raises(GeneratorError, match=r"HTTP 401: Invalid API key.*generator.api_key"):
        generate_text(make(chat_server.url, api_key="wrong"), MESSAGES)
    chat_server.status = 500
    chat_server.error_body = "model crashed"
    with pytest.raises(GeneratorError, match="HTTP 500: model crashed"):
        generate_text(make(chat_server.url), MESSAGES)


def test_wrong_path_hints_at_the_url(chat_server: FakeChatServer) -> None:
    with pytest.raises(GeneratorError, match=r"HTTP 404.*generator.url"):
        generate_text(make(chat_server.url + "/api/chat/completions"), MESSAGES)


def test_connection_refused_is_clear() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(
        GeneratorError, match=rf"Cannot connect to the chat server at http://127.0.0.1:{port}"
    ):
        generate_text(make(f"http://127.0.0.1:{port}"), MESSAGES)


def test_timeout_is_clear(chat_server: FakeChatServer) -> None:
    chat_server.delay_s = 1.5
    with pytest.raises(GeneratorError, match=r"did not answer within 0.3 s.*timeout_s"):
        generate_text(make(chat_server.url, timeout_s=0.3), MESSAGES)


def test_bad_events_and_server_errors_in_the_stream(chat_server: FakeChatServer) -> None:
    chat_server.raw_events = ["{not json"]
    with pytest.raises(GeneratorError, match="invalid event"):
        generate_text(make(chat_server.url), MESSAGES)
    chat_server.raw_events = [json.dumps({"error": {"message": "out of memory"}})]
    with pytest.raises(GeneratorError, match="reported an error: out of memory"):
        generate_text(make(chat_server.url), MESSAGES)


def test_missing_or_bad_url() -> None:
    with pytest.raises(GeneratorError, match="needs the server's URL"):
        load_generator(generator_settings(backend="openai-compatible"))
    with pytest.raises(GeneratorError, match="must start with http"):
        load_generator(generator_settings(backend="openai-compatible", url="localhost:8000"))
