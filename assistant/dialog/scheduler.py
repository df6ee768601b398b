"""Fires timers, alarms and reminders: a background thread claims due rows from the memory (each fires
exactly once, even with several processes) and hands them to the registered callbacks (the CLI speaks,
the UI notifies). It sleeps on an Event between polls, so it never spins, and stops at once.

Several replicas on one database each run one: a poll leases due rows under this scheduler's id (no two
replicas lease the same row), delivers them, then settles them as fired. A replica killed between lease and
settle leaves leases that run out after `lease_s`; another replica then fires those rows. A replica killed
after delivering but before settling would deliver them twice; that gap is one short transaction."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from assistant.dialog.skills import reminders as reminder_skill
from assistant.dialog.skills import timer_words
from assistant.memory import DatabaseError, Memory
from assistant.memory.skill_state import DEFAULT_LEASE_S

log = logging.getLogger(__name__)

Callback = Callable[["Alert"], None]


@dataclass(frozen=True)
class Alert:
    """Something that went off. `text` is ready to speak or show."""

    kind: str  # "timer", "alarm" or "reminder"
    id: int
    user_id: int
    text: str
    due_at: datetime
    label: str | None = None


class Scheduler:
    """`subscribe(callback, user_id=None)`, then `start()`; `stop()` when done (or use it as a context)."""

    def __init__(
        self,
        memory: Memory,
        tz: tzinfo | None = None,
        interval_s: float = 0.5,
        lease_s: float = DEFAULT_LEASE_S,
        owner: str | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        if lease_s <= 0:
            raise ValueError("lease_s must be positive")
        self.memory = memory
        self.tz = tz or UTC
        self.interval_s = interval_s
        self.lease_s = lease_s
        # who holds a lease: unique per scheduler, readable in the database (host, process)
        self.owner = owner or f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._subscribers: list[tuple[Callback, int | None]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def subscribe(self, callback: Callback, user_id: int | None = None) -> Callable[[], None]:
        """Call `callback(alert)` for every alert (or only this user's); returns an unsubscribe function.
        Alerts are claimed only while someone is subscribed, so none are lost while nobody listens."""
        entry = (callback, user_id)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def start(self) -> Scheduler:
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="assistant-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Poll now (e.g. right after a short timer was set)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll(datetime.now(UTC))
            except Exception:  # a bad callback or a locked database must not kill the thread
                log.exception("scheduler poll failed")
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def poll(self, now: datetime) -> list[Alert]:
        """Claim what is due at `now`, deliver it, and return it (tests call this directly)."""
        with self._lock:
            subscribers = list(self._subscribers)
        if not subscribers:
            return []
        users = {user for _, user in subscribers}
        scopes: list[int | None] = [None] if None in users else sorted(u for u in users if u is not None)
        alerts: list[Alert] = []
        timer_ids: list[int] = []
        reminder_ids: list[int] = []
        local_now = now.astimezone(self.tz)
        for scope in scopes:
            try:
                timers = self.memory.lease_due_timers(now, self.owner, self.lease_s, scope)
                timer_ids += [t.id for t in timers]
                reminders = self.memory.lease_due_reminders(now, self.owner, self.lease_s, scope)
                reminder_ids += [r.id for r in reminders]
            except DatabaseError:
                log.exception("scheduler could not read the memory")
                continue
            for t in timers:
                text = timer_words.alert_text(t, local_now)
                alerts.append(Alert(t.kind, t.id, t.user_id, text, t.due_at, t.label))
            for r in reminders:
                alerts.append(
                    Alert("reminder", r.id, r.user_id, reminder_skill.alert_text(r), r.due_at or now, r.text)
                )
        for alert in sorted(alerts, key=lambda a: a.due_at):
            log.info("alert %s %s for user %s fired by %s", alert.kind, alert.id, alert.user_id, self.owner)
            for callback, user in subscribers:
                if user is None or user == alert.user_id:
                    try:
                        callback(alert)
                    except Exception:
                        log.exception("scheduler callback failed for %s %s", alert.kind, alert.id)
        try:
            self.memory.settle_timers(timer_ids, self.owner, now, self.tz)
            self.memory.settle_reminders(reminder_ids, self.owner, now)
        except DatabaseError:  # the leases run out and the rows fire again: late twice beats never
            log.exception("scheduler could not mark delivered alerts as fired")
        return alerts
