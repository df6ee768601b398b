"""An OpenAI-compatible HTTP API, mounted at /v1 in the app `assistant serve` runs (behind `ui.guard`).

- `GET /v1/models`: the chat models: `assistant` (the whole turn: NLU, skills, memory, generator) and the
  configured generator on its own (e.g. `smollm2-135m`).
- `POST /v1/chat/completions`, streamed (server-sent events) or not. With model `assistant` the last user
  message is one turn of a user: the account whose own token was sent (it may not name another), else the
  request's `user` field, else auth.username, else the owner (`settings.owner`, the same user as the web app
  and `chat` on this machine): that user's memory supplies the history and facts, so earlier messages in
  the request are not re-read.
  With the generator's name the whole message list goes to the generator, token by token.
- `POST /v1/audio/transcriptions` and `POST /v1/audio/speech`: `ui.api_speech_routes`.

Bearer tokens: `ui.api_auth`. Errors are JSON in OpenAI's shape, never a traceback (`ui.api_wire`). Model
work runs in worker threads (`ui.api_stream`), at most MAX_RUNNING at once with MAX_WAITING more queued;
beyond that callers get a 429.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assistant.config import Settings
from assistant.events import ErrorEvent, IntentEvent, NoticeEvent, TextEvent, TurnDoneEvent, TurnRequest
from ui.api_auth import BearerAuth, Caller, TokenPolicy
from ui.api_speech_routes import AudioRoutes
from ui.api_stream import MAX_RUNNING, MAX_WAITING, CleanStream, Pump, Reader, Slots
from ui.api_wire import (
    ApiError,
    ChatRequest,
    Completion,
    error_body,
    exception_handlers,
    model_unavailable,
    parse_chat,
    read_json,
    short_error,
    sse,
    unknown_model,
)
from ui.throttle import LoginThrottle

__all__ = ["ASSISTANT_MODEL", "MAX_RUNNING", "MAX_WAITING", "OpenAIApi", "Slots", "openai_app"]

log = logging.getLogger("assistant.ui")

ASSISTANT_MODEL = "assistant"


class OpenAIApi:
    """The routes, over one `Pipeline`. `exposed`: the server can be reached from other machines."""

    def __init__(self, pipeline: Any, settings: Settings, exposed: bool) -> None:
        self.pipeline = pipeline
        self.settings = settings
        auth = settings.auth
        throttle = LoginThrottle(auth.max_failures, auth.account_max_failures, auth.lockout_s)
        from assistant.accounts import Accounts

        accounts = Accounts(pipeline.memory.db)
        self.auth = BearerAuth(TokenPolicy.from_settings(settings, exposed), throttle, accounts)
        self.slots = Slots()
        self.audio = AudioRoutes(pipeline, settings, self.slots, self._authorize)
        self.started = int(time.time())

    def app(self) -> Starlette:
        routes = [
            Route("/models", self.models, methods=["GET"]),
            Route("/models/{model:path}", self.model, methods=["GET"]),
            Route("/chat/completions", self.chat, methods=["POST"]),
            Route("/audio/transcriptions", self.audio.transcribe, methods=["POST"]),
            Route("/audio/speech", self.audio.speech, methods=["POST"]),
        ]
        return Starlette(routes=routes, exception_handlers=exception_handlers())

    # --- models ------------------------------------------------------------------------------------

    def chat_models(self) -> list[str]:
        return [ASSISTANT_MODEL, self.settings.generator.backend]

    def _model_card(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": self.started, "owned_by": "assistant"}

    async def models(self, request: Request) -> Response:
        self._authorize(request)
        cards = [self._model_card(name) for name in self.chat_models()]
        return JSONResponse({"object": "list", "data": cards})

    async def model(self, request: Request) -> Response:
        self._authorize(request)
        name = request.path_params["model"]
        if name not in self.chat_models():
            raise unknown_model(name, self.chat_models())
        return JSONResponse(self._model_card(name))

    # --- chat ----------------------------------------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        caller = self._authorize(request)
        data = read_json(await request.body(), request.headers.get("content-type"))
        chat = parse_chat(data, self.settings.web.max_text_chars)
        if chat.model == ASSISTANT_MODEL:
            user = self.user_of(chat, caller)
            events = self._turn_events(chat, user)
            return await self._answer(chat, events, self._turn_reader(), user)
        if chat.model == self.settings.generator.backend:
            tokens = self._generator_tokens(chat)
            return await self._answer(chat, tokens, self._token_reader(chat.max_tokens))
        raise unknown_model(chat.model, self.chat_models())

    def _turn_events(self, chat: ChatRequest, user: str) -> Iterator[Any]:
        last = chat.messages[-1]
        if last.role != "user":
            raise ApiError(
                400,
                "With model 'assistant' the last message must be the user's (it is the turn to answer).",
                param="messages",
            )
        return self.pipeline.run(TurnRequest(user=user, text=last.content))

    def user_of(self, chat: ChatRequest, caller: Caller) -> str:
        """The memory's user for a turn: the account whose token was sent (which may not act for anyone
        else), else the request's `user`, else the web login's name, else the owner."""
        if caller.account is not None:
            if chat.user and chat.user != caller.account:
                raise ApiError(
                    403,
                    "This token belongs to another account, so it cannot act for the 'user' named here; "
                    "leave 'user' out or send that account's own token.",
                    type_="permission_error",
                    code="forbidden",
                    param="user",
                )
            return caller.account
        return chat.user or self.settings.auth.username or self.settings.owner

    def _generator_tokens(self, chat: ChatRequest) -> Iterator[str]:
        """The generator's pieces; loading it happens in the first step (a worker thread)."""
        messages = list(chat.messages)

        def pieces() -> Iterator[str]:
            try:
                generator = self.pipeline.runtime.generator()
                stream = generator.stream(messages)
            except Exception as exc:
                raise model_unavailable("The generator", exc) from None
            try:
                yield from stream
            except Exception as exc:  # GeneratorError and the like; closing (GeneratorExit) passes
                raise ApiError(
                    500, f"The generator failed: {short_error(exc)}", "server_error", "generator_failed"
                ) from None
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()

        return pieces()

    @staticmethod
    def _turn_reader() -> Reader:
        """Reads pipeline events: (text to send or None, whether the reply is complete). Errors raise;
        what the turn learnt (intent, who answered, ids, notices) goes into `meta`."""

        def read(event: Any, meta: dict[str, Any]) -> tuple[str | None, bool]:
            if isinstance(event, TextEvent):
                meta["answered"] = True
                return event.text, False
            if isinstance(event, ErrorEvent):
                if not meta.get("answered"):
                    raise ApiError(400, event.message, code="turn_failed")
                meta.setdefault("notices", []).append(event.message)  # e.g. answered but not saved
            elif isinstance(event, IntentEvent):
                meta["intent"] = event.intent.label
                meta["routed_to"] = event.routed_to
            elif isinstance(event, NoticeEvent):
                meta.setdefault("notices", []).append(event.message)
            elif isinstance(event, TurnDoneEvent):
                meta.update(
                    answered_by=event.answered_by,
                    conversation_id=event.conversation_id,
                    turn_id=event.turn_id,
                    timings_ms=event.timings_ms,
                )
            return None, False

        return read

    @staticmethod
    def _token_reader(limit: int | None) -> Reader:
        def read(piece: Any, meta: dict[str, Any]) -> tuple[str | None, bool]:
            meta["pieces"] = meta.get("pieces", 0) + 1
            cut = limit is not None and meta["pieces"] >= limit
            if cut:
                meta["finish_reason"] = "length"
            return str(piece), cut

        return read

    async def _answer(
        self,
        chat: ChatRequest,
        source: Iterator[Any],
        read: Reader,
        user: str | None = None,
    ) -> Response:
        """Run `source` in its own thread (`Pump`); reply whole, or stream once the first text is in (an error
        before it gets its own status)."""
        completion = Completion(chat.model)
        meta: dict[str, Any] = {"user": user} if user is not None else {}
        steps = Pump(source)
        await self.slots.acquire()
        cleaned = False

        async def cleanup() -> None:
            nonlocal cleaned
            if not cleaned:
                cleaned = True
                try:
                    await steps.aclose()
                finally:
                    self.slots.release()

        streaming = False
        try:
            text = await steps.next_text(read, meta)  # the first piece, so errors before it get a status
            first = [text] if text else []
            if chat.stream:
                streaming = True
                return CleanStream(self._events(chat, completion, steps, read, first, meta), cleanup)
            pieces = first
            while (text := await steps.next_text(read, meta)) is not None:
                pieces.append(text)
            reply = "".join(pieces).strip()
            finish = meta.get("finish_reason", "stop")
            return JSONResponse(completion.whole(reply, finish, _extra(chat, meta)))
        finally:
            if not streaming:  # a stream cleans up when it ends (CleanStream)
                with anyio.CancelScope(shield=True):
                    await cleanup()

    async def _events(
        self,
        chat: ChatRequest,
        completion: Completion,
        steps: Pump,
        read: Reader,
        first: list[str],
        meta: dict[str, Any],
    ) -> AsyncIterator[bytes]:
        yield sse(completion.chunk({"role": "assistant", "content": ""}))
        for text in first:
            yield sse(completion.chunk({"content": text}))
        try:
            while (text := await steps.next_text(read, meta)) is not None:
                yield sse(completion.chunk({"content": text}))
        except ApiError as exc:
            yield sse(error_body(exc.message, exc.type, exc.code))
            yield sse("[DONE]")
            return
        except Exception as exc:
            log.exception("streamed chat completion failed")
            yield sse(error_body(f"The reply failed: {short_error(exc)}", "server_error"))
            yield sse("[DONE]")
            return
        yield sse(completion.chunk({}, meta.get("finish_reason", "stop"), _extra(chat, meta)))
        if chat.include_usage:
            yield sse(completion.chunk({}, None, {"choices": [], "usage": None}))
        yield sse("[DONE]")

    # --- auth ------------------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> Caller:
        client = request.client.host if request.client else "unknown"
        return self.auth.check(request.headers.get("authorization"), client)


def _extra(chat: ChatRequest, meta: dict[str, Any]) -> dict[str, Any]:
    """What the turn did, beside OpenAI's fields (clients ignore unknown keys)."""
    if chat.model != ASSISTANT_MODEL:
        return {}
    keys = (
        "user",
        "intent",
        "routed_to",
        "answered_by",
        "conversation_id",
        "turn_id",
        "timings_ms",
        "notices",
    )
    return {"assistant_turn": {k: meta[k] for k in keys if meta.get(k) is not None}}


def openai_app(pipeline: Any, settings: Settings, exposed: bool) -> Starlette:
    """The API as an ASGI app to mount at /v1."""
    return OpenAIApi(pipeline, settings, exposed).app()
