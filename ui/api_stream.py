"""The plumbing between the API's async routes and the blocking model work: `Slots` bounds how many calls
run and wait, `Pump` runs an iterator (a turn, a token stream) in its own thread, and `CleanStream` is a
streamed reply that always stops that work and frees its slot, even when the client leaves early.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ui.api_wire import ApiError

MAX_RUNNING = 2  # model calls at once (as the web app's queue); more would only share the same cores
MAX_WAITING = 16  # queued beyond those; past this a caller is told to come back later (429)
END = object()  # what `Pump.next` returns once the work has ended

# Reads one item of the work: (text to send or None, whether the reply is complete); notes go into `meta`.
Reader = Callable[[Any, dict[str, Any]], tuple[str | None, bool]]


class Slots:
    """At most `running` model calls at once and `waiting` queued behind them."""

    def __init__(self, running: int = MAX_RUNNING, waiting: int = MAX_WAITING) -> None:
        self._semaphore = asyncio.Semaphore(running)
        self._waiting = 0
        self.max_waiting = waiting

    async def acquire(self) -> None:
        if self._waiting >= self.max_waiting:
            raise ApiError(429, "The server is busy; try again shortly.", "rate_limit_error", "server_busy")
        self._waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self._waiting -= 1

    def release(self) -> None:
        self._semaphore.release()

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class Pump:
    """Runs a blocking iterator (a turn, a token stream) to its end in its own thread and hands the items
    over through a queue, so a client that reads slowly never holds a model (llama.cpp keeps a lock for
    the whole reply): the reply is at most generator.max_new_tokens pieces, so the queue stays small.
    `aclose` asks the thread to stop at the next item (closing the iterator cancels generation) and
    waits until it has."""

    def __init__(self, iterator: Iterator[Any]) -> None:
        self._iterator = iterator
        self._stop = threading.Event()
        self._queue: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()
        self._finished: asyncio.Future[None] | None = None
        self.done = False

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._finished = loop.create_future()

        def hand_over(item: Any, error: BaseException | None = None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone (server shutting down)
                loop.call_soon_threadsafe(self._queue.put_nowait, (item, error))

        def run() -> None:
            try:
                for item in self._iterator:
                    if self._stop.is_set():
                        break
                    hand_over(item)
                hand_over(END)
            except BaseException as exc:  # handed to the reader, which raises it
                hand_over(END, exc)
            finally:
                close = getattr(self._iterator, "close", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        close()
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_resolve, self._finished)

        threading.Thread(target=run, name="openai-api-work", daemon=True).start()

    async def next(self) -> Any:
        if self.done:
            return END
        if self._finished is None:
            self._start()
        item, error = await self._queue.get()
        if item is END:
            self.done = True
        if error is not None:
            raise error
        return item

    async def next_text(self, read: Reader, meta: dict[str, Any]) -> str | None:
        """The next non-empty text `read` finds in the items, or None once the work has ended or `read`
        has said the reply is complete (which marks the pump done)."""
        while not self.done:
            item = await self.next()
            if item is END:
                return None
            text, complete = read(item, meta)
            if complete:
                self.done = True
            if text:
                return text
        return None

    async def aclose(self) -> None:
        """Stop the work and wait until it has stopped; safe to call twice, or before any `next`."""
        self.done = True
        self._stop.set()
        if self._finished is not None:
            await asyncio.shield(self._finished)


def _resolve(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


class CleanStream(StreamingResponse):
    """A streamed reply that always runs `cleanup` (stop the work, free its slot), even when the client
    goes away before the first byte."""

    def __init__(self, content: AsyncIterator[bytes], cleanup: Callable[[], Awaitable[None]]) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._cleanup = cleanup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._cleanup()
