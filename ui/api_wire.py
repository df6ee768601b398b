"""The OpenAI wire format, both ways: requests read and checked into dataclasses, replies and errors
shaped as OpenAI's clients expect (`{"error": {"message", "type", "code", "param"}}`).

Everything a caller can get wrong becomes an `ApiError` with a sentence and the status OpenAI would use;
fields this server cannot honour (several choices, tools, image parts) are refused by name rather than
silently ignored, and sampling knobs it does not apply per request (temperature, top_p) are accepted.
`exception_handlers` renders every failure of a route, ours or Starlette's, in that same error shape.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from assistant.dialog.types import Message
from ui.api_auth import Unauthorized

MAX_MESSAGES = 512  # per chat request; the body limit bounds the bytes, this the work of reading them
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
TRANSCRIPT_FORMATS = ("json", "text", "verbose_json", "srt", "vtt")
MAX_SPEECH_CHARS = 4096  # OpenAI's own limit for /v1/audio/speech input


class ApiError(Exception):
    """A request this API refuses; rendered by `error_body`."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "code": code, "param": param}}


def error_for_status(status: int, message: str) -> ApiError:
    """An ApiError with OpenAI's type and code for a bare HTTP status (404 route, 405, 413, 500)."""
    kinds = {
        401: ("authentication_error", "invalid_api_key"),
        403: ("permission_error", "forbidden"),
        404: ("invalid_request_error", "not_found"),
        405: ("invalid_request_error", "method_not_allowed"),
        413: ("invalid_request_error", "request_too_large"),
        415: ("invalid_request_error", "unsupported_media_type"),
        429: ("rate_limit_error", "rate_limit_exceeded"),
    }
    type_, code = kinds.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return ApiError(status, message, type_, code)


def unknown_model(name: str, known: list[str]) -> ApiError:
    return ApiError(
        404,
        f"The model {name[:80]!r} does not exist here; use one of: {', '.join(known)}.",
        code="model_not_found",
        param="model",
    )


def model_unavailable(what: str, exc: BaseException) -> ApiError:
    """A 503 for a model that could not be loaded (`what`: "The generator", "Speech output", …)."""
    return ApiError(503, f"{what} is unavailable: {short_error(exc)}", "server_error", "model_unavailable")


def short_error(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line for a caller: whitespace folded, cut at `limit` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- requests ---------------------------------------------------------------------------------------


def read_json(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The body as a JSON object; 415 for another content type, 400 for anything that is not an object."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise ApiError(
            415,
            f"Send the request as JSON (Content-Type: application/json), not {media or 'no content type'}.",
            code="unsupported_media_type",
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"The request body is not valid JSON ({exc}).", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    return data


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ApiError(400, f"'{name}' must be a number, not a boolean.", param=name)
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ApiError(400, f"'{name}' must be of type {names}.", param=name)
    return value


def required_text(data: dict[str, Any], name: str) -> str:
    value = _field(data, name, str)
    if value is None or not value.strip():
        raise ApiError(400, f"'{name}' is required (a non-empty string).", param=name)
    return value


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    stream: bool = False
    include_usage: bool = False
    user: str | None = None
    max_tokens: int | None = None


def parse_chat(data: dict[str, Any], max_chars: int) -> ChatRequest:
    """A /v1/chat/completions body; `max_chars` bounds each message (the web app's typed-text limit)."""
    model = required_text(data, "model")
    raw_messages = _field(data, "messages", list)
    if not raw_messages:
        raise ApiError(400, "'messages' must be a non-empty list.", param="messages")
    if len(raw_messages) > MAX_MESSAGES:
        raise ApiError(400, f"At most {MAX_MESSAGES} messages per request.", param="messages")
    messages = tuple(_message(m, i, max_chars) for i, m in enumerate(raw_messages))
    if _field(data, "n", int, 1) != 1:
        raise ApiError(400, "Only n=1 is supported.", param="n")
    for unsupported in ("tools", "functions"):
        if data.get(unsupported):
            raise ApiError(400, f"'{unsupported}' are not supported by this server.", param=unsupported)
    if data.get("logprobs"):
        raise ApiError(400, "'logprobs' is not supported by this server.", param="logprobs")
    response_format = _field(data, "response_format", dict, {})
    if response_format.get("type", "text") != "text":
        raise ApiError(400, "Only text responses are supported.", param="response_format")
    for number in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        _field(data, number, (int, float))  # accepted, checked, applied from the server's settings
    max_tokens = _field(data, "max_completion_tokens", int) or _field(data, "max_tokens", int)
    if max_tokens is not None and max_tokens < 1:
        raise ApiError(400, "'max_tokens' must be at least 1.", param="max_tokens")
    stream_options = _field(data, "stream_options", dict, {})
    user = (_field(data, "user", str) or "").strip() or None
    return ChatRequest(
        model=model,
        messages=messages,
        stream=bool(_field(data, "stream", bool, False)),
        include_usage=bool(stream_options.get("include_usage", False)),
        user=user,
        max_tokens=max_tokens,
    )


def _message(raw: Any, index: int, max_chars: int) -> Message:
    param = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise ApiError(400, f"{param} must be an object with 'role' and 'content'.", param=param)
    role = raw.get("role")
    if role not in ROLES:
        raise ApiError(
            400,
            f"{param}: role {str(role)[:40]!r} is not supported; use system, user or assistant.",
            param=f"{param}.role",
        )
    content = raw.get("content")
    if isinstance(content, list):
        texts = []
        for part in content:
            if (
                not isinstance(part, dict)
                or part.get("type") != "text"
                or not isinstance(part.get("text"), str)
            ):
                raise ApiError(
                    400, f"{param}: only text content parts are supported.", param=f"{param}.content"
                )
            texts.append(part["text"])
        content = "\n".join(texts)
    if not isinstance(content, str):
        raise ApiError(400, f"{param}: 'content' must be a string.", param=f"{param}.content")
    if len(content) > max_chars:
        raise ApiError(
            400,
            f"{param} is too long ({len(content):,} characters; at most {max_chars:,}).",
            param=f"{param}.content",
        )
    return Message(ROLES[role], content)


@dataclass(frozen=True)
class SpeechRequest:
    model: str
    text: str
    voice: str
    response_format: str
    speed: float


def parse_speech(data: dict[str, Any], formats: tuple[str, ...]) -> SpeechRequest:
    model = required_text(data, "model")
    text = required_text(data, "input")
    if len(text) > MAX_SPEECH_CHARS:
        raise ApiError(
            400, f"'input' is too long ({len(text):,} characters; at most {MAX_SPEECH_CHARS}).", param="input"
        )
    voice = required_text(data, "voice")
    response_format = _field(data, "response_format", str, "mp3").lower()
    if response_format not in formats:
        raise ApiError(
            400,
            f"response_format {response_format[:20]!r} is not supported; use one of {', '.join(formats)}.",
            param="response_format",
        )
    speed = float(_field(data, "speed", (int, float), 1.0))
    _field(data, "instructions", str)
    return SpeechRequest(model, text, voice, response_format, speed)


# --- replies ----------------------------------------------------------------------------------------


@dataclass
class Completion:
    """One chat completion being answered: its id, and the chunks or the whole reply built from it."""

    model: str
    id: str = ""
    created: int = 0

    def __post_init__(self) -> None:
        self.id = self.id or f"chatcmpl-{secrets.token_hex(12)}"
        self.created = self.created or int(time.time())

    def _envelope(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def whole(self, text: str, finish_reason: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        message = {"role": "assistant", "content": text}
        body = self._envelope("chat.completion")
        body["choices"] = [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}]
        body["usage"] = None
        return body | (extra or {})

    def chunk(
        self, delta: dict[str, Any], finish_reason: str | None = None, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = self._envelope("chat.completion.chunk")
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]
        return body | (extra or {})


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event (`data: ...` and a blank line)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


def transcript_body(transcript: Any, response_format: str) -> tuple[str | dict[str, Any], str]:
    """(body, media type) for a Transcript in one of TRANSCRIPT_FORMATS."""
    text = transcript.text.strip()
    if response_format == "json":
        return {"text": text}, "application/json"
    if response_format == "text":
        return text + "\n", "text/plain; charset=utf-8"
    segments = list(transcript.segments) or []
    if response_format == "verbose_json":
        return {
            "task": "transcribe",
            "language": transcript.language,
            "duration": round(float(transcript.audio_seconds), 3),
            "text": text,
            "segments": [
                {"id": i, "start": s.start, "end": s.end, "text": s.text.strip()}
                for i, s in enumerate(segments)
            ],
        }, "application/json"
    if not segments:  # subtitles need times: one cue for the whole clip
        from assistant.speech.types import Segment

        segments = [Segment(0.0, float(transcript.audio_seconds), text)]
    cues = []
    for i, s in enumerate(segments, start=1):
        start, end = _stamp(s.start, response_format), _stamp(s.end, response_format)
        cues.append(
            f"{i}\n{start} --> {end}\n{s.text.strip()}\n"
            if response_format == "srt"
            else f"{start} --> {end}\n{s.text.strip()}\n"
        )
    if response_format == "vtt":
        return "WEBVTT\n\n" + "\n".join(cues), "text/vtt; charset=utf-8"
    return "\n".join(cues), "application/x-subrip; charset=utf-8"


def _stamp(seconds: float, kind: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{',' if kind == 'srt' else '.'}{ms:03d}"


# --- errors as HTTP replies -------------------------------------------------------------------------


def _json_error(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = error_body(error.message, error.type, error.code, error.param)
    return JSONResponse(body, status_code=error.status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _json_error(exc)


async def _unauthorized(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Unauthorized)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return _json_error(error_for_status(exc.status, exc.message), headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: f"No such API route: {request.method} {request.url.path}.",
        405: f"{request.method} is not allowed on {request.url.path}.",
    }
    message = messages.get(exc.status_code, str(exc.detail))
    return _json_error(error_for_status(exc.status_code, message))


async def _server_error(request: Request, exc: Exception) -> Response:
    # the traceback goes to the log (`ui.guard` logs what escapes); the caller gets a sentence
    return _json_error(error_for_status(500, "The server could not handle this request (see its log)."))


def exception_handlers() -> dict[Any, Any]:
    """Starlette's exception handlers for the API: every failure becomes JSON in OpenAI's shape."""
    return {
        ApiError: _api_error,
        Unauthorized: _unauthorized,
        HTTPException: _http_error,
        Exception: _server_error,
    }
