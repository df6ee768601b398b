"""One turn's off switch (barge-in): whoever plays the reply cancels, whoever makes it stops.

The user can cut a spoken reply off (the wake word or "stop" while it plays). That can land while the
turn is still generating and synthesising (the pipeline then stops both and stores the turn as interrupted)
or after the turn was stored while its last sentences still play (then the stored turn is marked). One
token covers both: the pipeline checks `cancelled` as it works and, once the turn is stored, registers
`on_cancel` to mark it; a callback registered after the cancel runs at once, so neither order is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class CancelToken:
    """Thread-safe: the web page's listening handler cancels while the turn runs in another thread."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self.cancelled_at: float | None = None  # time.perf_counter() when cancelled
        self.reason = ""

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self, reason: str = "") -> bool:
        """Stop the turn (once); True for the call that cancelled it."""
        with self._lock:
            if self._event.is_set():
                return False
            self.cancelled_at, self.reason = time.perf_counter(), reason
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _run(callback)
        return True

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call `callback` when cancelled (now, in this thread, if it already is)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        _run(callback)


def _run(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # a failed bookkeeping step must not break the caller's stop
        log.exception("a cancel callback failed")
