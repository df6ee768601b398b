"""Per-client budgets for the web app: failed sign-ins (with lockouts that double) and upload bytes per hour.

Both are small in-memory tables keyed by client address (and, for sign-ins, by account), pruned as they
are used and capped in size, so an attacker cycling through names or addresses cannot grow them without
bound. Time comes from a clock the caller can replace (tests step it instead of sleeping).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_TRACKED = 10_000  # clients or accounts remembered; the least recently seen are forgotten first
Clock = Callable[[], float]


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    lockouts: int = 0  # each lockout in a row doubles the next one


class LoginThrottle:
    """Too many failed sign-ins from one client, or against one account, pause further tries.

    A client gets `max_failures` tries per window, then a pause of `lockout_s` that doubles with each
    lockout in a row (capped at a day); an account gets `account_max_failures` from all clients together.
    A successful sign-in clears that client's record.
    """

    def __init__(
        self,
        max_failures: int = 5,
        account_max_failures: int = 20,
        lockout_s: float = 60.0,
        window_s: float = 900.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.account_max_failures = account_max_failures
        self.lockout_s = lockout_s
        self.window_s = window_s
        self.clock = clock
        self._clients: OrderedDict[str, _Failures] = OrderedDict()
        self._accounts: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def wait_s(self, client: str, account: str) -> float:
        """Seconds before this client may try this account again (0 = now)."""
        now = self.clock()
        with self._lock:
            waits = [
                record.locked_until - now
                for table, key in ((self._clients, client), (self._accounts, account.lower()))
                if (record := table.get(key)) is not None
            ]
        return max([0.0, *waits])

    def failed(self, client: str, account: str) -> None:
        now = self.clock()
        with self._lock:
            self._record(self._clients, client, self.max_failures, now)
            self._record(self._accounts, account.lower(), self.account_max_failures, now)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)

    def _record(self, table: OrderedDict[str, _Failures], key: str, limit: int, now: float) -> None:
        record = table.pop(key, None) or _Failures()
        table[key] = record  # most recently seen last
        while len(table) > MAX_TRACKED:
            table.popitem(last=False)
        while record.times and record.times[0] < now - self.window_s:
            record.times.popleft()
        record.times.append(now)
        if len(record.times) >= limit:
            record.locked_until = now + min(self.lockout_s * 2**record.lockouts, 86_400.0)
            record.lockouts += 1
            record.times.clear()


class UploadQuota:
    """Upload bytes per client in a sliding window (an hour by default)."""

    def __init__(self, quota_bytes: int, window_s: float = 3600.0, clock: Clock = time.monotonic) -> None:
        self.quota_bytes = quota_bytes
        self.window_s = window_s
        self.clock = clock
        self._used: OrderedDict[str, deque[tuple[float, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def left(self, client: str) -> int:
        """Bytes this client may still upload in the current window."""
        now = self.clock()
        with self._lock:
            entries = self._used.get(client)
            if entries is None:
                return self.quota_bytes
            while entries and entries[0][0] < now - self.window_s:
                entries.popleft()
            return max(0, self.quota_bytes - sum(n for _, n in entries))

    def spend(self, client: str, n_bytes: int) -> None:
        if n_bytes <= 0:
            return
        with self._lock:
            entries = self._used.pop(client, None) or deque()
            self._used[client] = entries
            entries.append((self.clock(), n_bytes))
            while len(entries) > 1_000:  # many small uploads: merge the oldest two to keep the list short
                (t0, a), (_, b) = entries.popleft(), entries.popleft()
                entries.appendleft((t0, a + b))
            while len(self._used) > MAX_TRACKED:
                self._used.popitem(last=False)
