"""The web app's front door: an ASGI middleware that bounds what any one request may cost and refuses
requests a browser page on another site could forge.

- Host allowlist: a localhost server answers only to localhost names, so DNS rebinding cannot reach it.
- Same-origin writes: a POST (or other state change) that carries an Origin must come from this server's
  own pages, so another site cannot upload files or start turns (multipart needs no CORS preflight).
- Body limits: the upload route takes one recording's worth of bytes and a few files, everything else a
  few MB; a declared length over the limit is refused before reading, a streamed one is cut off.
- Upload quota per client per hour; sign-in throttling per client and per account (`ui.throttle`).
- Unknown events and malformed uploads get a 4xx with a sentence, not a bare 500; any other failure
  becomes a short JSON message (the traceback goes to the log). Under /v1 (the OpenAI-compatible API,
  `ui.openai_api`) refusals are in OpenAI's error shape, and transcription uploads count as uploads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.formparsers import MultiPartException

from ui.throttle import LoginThrottle, UploadQuota

log = logging.getLogger("assistant.ui")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SMALL_BODY = 64 * 1024  # sign-in forms and event joins are read whole (to check them); they are small
MULTIPART_OVERHEAD = 64 * 1024
API_PREFIX = "/v1/"  # the OpenAI-compatible API: refusals there use its error shape
API_UPLOAD_PATHS = frozenset({"/v1/audio/transcriptions"})  # bounded like the web app's upload route


@dataclass(frozen=True)
class GuardPolicy:
    allowed_hosts: frozenset[str] | None  # None: any Host (a server on all interfaces, behind a login)
    max_body_bytes: int
    max_upload_bytes: int  # one request to the upload route
    max_upload_files: int = 4


def allowed_hosts(bind_host: str, extra: Collection[str] = ()) -> frozenset[str] | None:
    """Host names this server answers to: localhost names, the address it is bound to, and `extra`.
    `extra` containing '*' (or a server bound to all interfaces with no `extra`) answers any Host."""
    names = {h.strip().lower().strip("[]") for h in extra if h.strip()}
    if "*" in names:
        return None
    bind = bind_host.strip().lower().strip("[]")
    if bind in ("0.0.0.0", "::", "") and not names:
        return None
    return frozenset(LOOPBACK_NAMES | names | {bind})


def host_name(value: str) -> str:
    """'Example.org:7860' -> 'example.org'; '[::1]:7860' -> '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RequestGuard:
    """ASGI middleware; see the module docstring. `known_events` lists the app's event ids (fn_index)."""

    def __init__(
        self,
        app: ASGIApp,
        policy: GuardPolicy,
        throttle: LoginThrottle,
        quota: UploadQuota,
        known_events: Callable[[], Collection[int]] | None = None,
    ) -> None:
        self.app = app
        self.policy = policy
        self.throttle = throttle
        self.quota = quota
        self.known_events = known_events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            self._check_host(headers)
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
                return
            await self._http(scope, receive, send, headers)
        except Refused as refused:
            if scope["type"] == "http":
                await _respond(send, refused.status, refused.message, _is_api(scope))
            else:
                await send({"type": "websocket.close", "code": 1008})

    # --- checks ----------------------------------------------------------------------------------

    def _check_host(self, headers: dict[str, str]) -> None:
        allowed = self.policy.allowed_hosts
        if allowed is not None and host_name(headers.get("host", "")) not in allowed:
            raise Refused(403, "This server does not answer to that host name (see web.allowed_hosts).")

    def _check_origin(self, method: str, headers: dict[str, str]) -> None:
        origin = headers.get("origin")
        if method in SAFE_METHODS or origin is None:
            return  # no Origin: not a browser page (curl, the benchmarks); a page always sends one
        if origin == "null" or urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
            raise Refused(403, "Requests that change something must come from this server's own pages.")

    async def _http(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        method = scope.get("method", "GET")
        self._check_origin(method, headers)
        path = scope.get("path", "")
        client = (scope.get("client") or ("unknown",))[0]
        api = _is_api(scope)
        upload = method == "POST" and (
            path.rstrip("/").endswith("/upload") or path.rstrip("/") in API_UPLOAD_PATHS
        )
        limit = self.policy.max_upload_bytes + MULTIPART_OVERHEAD if upload else self.policy.max_body_bytes
        declared = headers.get("content-length")
        size = int(declared) if declared is not None and declared.isdigit() else None
        if size is not None and size > limit:
            raise Refused(413, _too_large(upload, self.policy))
        if upload:
            left = self.quota.left(client)
            if left <= 0 or (size is not None and size > left):
                raise Refused(429, "This client's upload quota for the hour is used up; try again later.")
            limit = min(limit, left)
        body = BoundedBody(
            receive, limit, _boundary(headers) if upload else None, self.policy.max_upload_files
        )
        if method == "POST" and path.rstrip("/") == "/login":
            await self._login(scope, body, send, client)
            return
        if method == "POST" and path.endswith("/queue/join") and self.known_events is not None:
            await self._check_event(body)
        too_large = _too_large(upload, self.policy)
        responder = Responder(send, lambda: None if body.refusal is None else body.refusal or too_large, api)
        try:
            await self.app(scope, body.receive, responder.send)
        except BodyTooLarge:
            if not responder.started:
                await _respond(send, 413, body.refusal or too_large, api)
        except Exception:
            log.exception("request %s %s failed", method, path)
            if not responder.started:
                message = (
                    "Malformed upload: send each file as a multipart part named 'files' with a filename."
                    if upload and not api
                    else "The server could not handle this request (the details are in its log)."
                )
                await _respond(send, 400 if upload and not api else 500, message, api)
        finally:
            if upload:
                self.quota.spend(client, body.received)

    async def _login(self, scope: Scope, body: BoundedBody, send: Send, client: str) -> None:
        raw = await body.read_all(SMALL_BODY)
        fields = parse_qs(raw.decode("utf-8", "replace"))
        account = (fields.get("username") or [""])[0][:200]
        wait = self.throttle.wait_s(client, account)
        if wait > 0:
            raise Refused(429, f"Too many failed sign-ins; try again in {wait:.0f} s.")
        responder = Responder(send)
        await self.app(scope, body.receive, responder.send)
        if responder.status == 200:
            self.throttle.succeeded(client)
        elif responder.status is not None and 400 <= responder.status < 500:
            self.throttle.failed(client, account)

    async def _check_event(self, body: BoundedBody) -> None:
        raw = await body.read_all(self.policy.max_body_bytes)
        try:
            fn_index = json.loads(raw).get("fn_index")
        except (ValueError, AttributeError):
            raise Refused(422, "The request body is not a JSON object.") from None
        assert self.known_events is not None
        if not isinstance(fn_index, int) or fn_index not in self.known_events():
            raise Refused(404, f"No such event: {fn_index!r}. Reload the page.")


class BodyTooLarge(MultiPartException):
    """Raised inside the app's body reads; a multipart parse error, so Gradio deletes the files it had
    begun writing for this request. The guard answers with its own message instead of the app's."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)


class BoundedBody:
    """The request body as the app reads it, cut off at `limit` bytes (and at `max_files` multipart files);
    what was read whole for checking is handed on unchanged."""

    def __init__(self, receive: Receive, limit: int, boundary: bytes | None, max_files: int) -> None:
        self._receive = receive
        self.limit = limit
        self.received = 0
        self._buffered: bytes | None = None
        self._delimiter = b"\r\n--" + boundary if boundary else None
        self._max_files = max_files
        self._parts = 0
        self._tail = b""
        self.refusal: str | None = None  # set when the body was cut off ("" = the default message)

    async def read_all(self, cap: int) -> bytes:
        chunks = []
        while True:
            try:
                message = await self._next()
            except BodyTooLarge:
                raise Refused(
                    413, f"The request is too large (at most {self.limit / 1024 / 1024:g} MB)."
                ) from None
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if self.received > cap:
                raise Refused(413, f"The request is too large (at most {cap / 1024 / 1024:g} MB).")
            if not message.get("more_body", False):
                break
        self._buffered = b"".join(chunks)
        return self._buffered

    async def receive(self) -> Message:
        if self._buffered is not None:
            body, self._buffered = self._buffered, None
            return {"type": "http.request", "body": body, "more_body": False}
        return await self._next()

    async def _next(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self.received += len(chunk)
            if self.received > self.limit:
                self.refusal = self.refusal or ""
                raise BodyTooLarge()
            self._count_parts(chunk)
        return message

    def _count_parts(self, chunk: bytes) -> None:
        if self._delimiter is None:
            return
        window = self._tail + chunk
        # the first delimiter has no leading CRLF; count it by prefixing one to the very first chunk
        if self.received == len(chunk):
            window = b"\r\n" + window
        self._parts += window.count(self._delimiter)
        self._tail = window[-(len(self._delimiter) - 1) :]
        if self._parts - 1 > self._max_files:  # the closing delimiter is one more than the parts
            self.refusal = f"At most {self._max_files} files per upload."
            raise BodyTooLarge(self.refusal)


class Responder:
    """Passes the app's response on, noting its status; when the body was cut off (`refused()` gives the
    message), the app's own answer to that is replaced by the guard's 413."""

    def __init__(
        self, send: Send, refused: Callable[[], str | None] = lambda: None, api: bool = False
    ) -> None:
        self._send = send
        self._refused = refused
        self._api = api
        self.status: int | None = None
        self._replaced = False

    @property
    def started(self) -> bool:
        return self.status is not None

    async def send(self, message: Message) -> None:
        if self._replaced:
            return
        if message["type"] == "http.response.start":
            refusal = self._refused()
            if refusal is not None:
                self._replaced = True
                self.status = 413
                await _respond(self._send, 413, refusal or "The request is too large.", self._api)
                return
            self.status = int(message["status"])
        await self._send(message)


def _boundary(headers: dict[str, str]) -> bytes | None:
    content_type = headers.get("content-type", "")
    for part in content_type.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1")
    return None


def _too_large(upload: bool, policy: GuardPolicy) -> str:
    if upload:
        mb = policy.max_upload_bytes / 1024 / 1024
        return f"The upload is too large (at most {mb:g} MB per request, within this hour's quota)."
    return f"The request is too large (at most {policy.max_body_bytes / 1024 / 1024:g} MB)."


def _is_api(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith(API_PREFIX)


def _api_error_type(status: int) -> str:
    if status >= 500:
        return "server_error"
    return {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}.get(
        status, "invalid_request_error"
    )


async def _respond(send: Send, status: int, message: str, api: bool = False) -> None:
    """The guard's own answer: `{"detail", "error"}` for the web app, OpenAI's shape under /v1."""
    if api:
        error = {"message": message, "type": _api_error_type(status), "code": None, "param": None}
        body = json.dumps({"error": error}).encode()
    else:
        body = json.dumps({"detail": message, "error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
