"""`openai-compatible`: a chat model served elsewhere (vLLM, llama.cpp server, Ollama, OpenAI...).

POST {url}/v1/chat/completions with ``stream: true`` and read the server-sent events, yielding each
``choices[0].delta.content``. The base URL may be given with or without the trailing ``/v1``. Each call
opens its own HTTP request, so the backend is safe to share between threads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.config import GeneratorSettings
from assistant.dialog.generators.base import CheckedStream, GeneratorError, generators
from assistant.dialog.types import Generator, Message

DEFAULT_MODEL = "default"  # llama.cpp and vLLM with one model ignore the name; others need generator.model


def chat_url(base: str) -> str:
    base = base.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


class OpenAICompatible(CheckedStream):
    """Streams a reply from an OpenAI-style /v1/chat/completions endpoint."""

    def __init__(self, config: GeneratorSettings) -> None:
        if not config.url:
            raise GeneratorError(
                "The openai-compatible generator needs the server's URL: set generator.url, "
                "e.g. --set generator.url=http://localhost:8000/v1 (and generator.model, generator.api_key)."
            )
        if not config.url.startswith(("http://", "https://")):
            raise GeneratorError(f"generator.url must start with http:// or https://, got {config.url!r}.")
        self.name = f"openai-compatible:{config.model or DEFAULT_MODEL}"
        self.config = config
        self.url = chat_url(config.url)
        self.last_stats: dict[str, Any] | None = None

    def _stream(self, messages: list[Message]) -> Iterator[str]:
        import httpx

        config = self.config
        headers = {"Accept": "text/event-stream"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        body = {
            "model": config.model or DEFAULT_MODEL,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "max_tokens": config.max_new_tokens,
            "temperature": config.temperature,
            "top_p": config.top_p,
        }
        timeout = httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s))
        started = time.perf_counter()
        first: float | None = None
        pieces = 0
        try:
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream("POST", self.url, json=body, headers=headers) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    raise GeneratorError(self._http_error(response.status_code, response.text))
                for piece in _sse_content(response.iter_lines(), self.url):
                    if first is None:
                        first = time.perf_counter() - started
                    pieces += 1
                    yield piece
        except httpx.ConnectError as exc:
            raise GeneratorError(
                f"Cannot connect to the chat server at {self.url} ({exc}). Is it running, and is "
                "generator.url right?"
            ) from exc
        except httpx.TimeoutException as exc:
            raise GeneratorError(
                f"The chat server at {self.url} did not answer within {config.timeout_s:g} s. "
                "Raise generator.timeout_s or check the server."
            ) from exc
        except httpx.HTTPError as exc:
            raise GeneratorError(f"The request to the chat server at {self.url} failed: {exc}") from exc
        self.last_stats = {"first_piece_s": first, "pieces": pieces, "total_s": time.perf_counter() - started}

    def _http_error(self, status: int, text: str) -> str:
        detail = text.strip()
        try:
            error = json.loads(detail).get("error", detail)
            detail = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        except (ValueError, AttributeError):
            pass
        hint = {
            401: " Check generator.api_key.",
            403: " Check generator.api_key.",
            404: " Check generator.url (it should end at the server root or /v1) and generator.model.",
        }.get(status, "")
        return f"The chat server at {self.url} answered HTTP {status}: {detail[:300]}.{hint}"


def _sse_content(lines: Iterator[str], url: str) -> Iterator[str]:
    """Text pieces from server-sent events (`data: {json}` lines, ending with `data: [DONE]`)."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments (":"), "event:" lines
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError as exc:
            raise GeneratorError(f"The chat server at {url} sent an invalid event: {data[:200]!r}") from exc
        if isinstance(event, dict) and event.get("error"):
            error = event["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise GeneratorError(f"The chat server at {url} reported an error: {message}")
        choices = event.get("choices") if isinstance(event, dict) else None
        if not choices:
            continue  # e.g. a final usage-only event
        delta = choices[0].get("delta") or {}
        content = delta.get("content")
        if content:
            yield content


@generators.register(
    "openai-compatible", "an OpenAI-style HTTP chat server (generator.url, .model, .api_key)"
)
def openai_compatible(config: GeneratorSettings, device: str, cache_dir: Path) -> Generator:
    """A chat model behind an OpenAI-compatible HTTP endpoint, streamed."""
    return OpenAICompatible(config)
