"""`web.workers`: the web app in several processes, so it scales with the cores.

Python runs one thread at a time in a process (the interpreter lock), so one `assistant serve` process
serves about one core's worth of turns however many users wait (`assistant bench load`). With
`web.workers = N` the main process starts N-1 more on the next ports (port+1, port+2, ...), each a whole
web app over the same database, and sends each page load (`GET /`) to the next process in turn by a
redirect. Gradio keeps a tab's state in the process that served its page, and the page then talks only to
that process (its own origin), so no request is relayed and a tab's turns never change process.

What the processes share lives in the database: users, turns, lists, timers; alarms are leased by one
scheduler and left as notices for whichever process serves the user's page (`assistant.memory.notices`).
The OpenAI API and Wyoming stay on the main process. Every process loads its own models (about 1 GB each
with the defaults). Each process must be reachable on its own port: behind a reverse proxy that forwards
one port only, keep `web.workers = 1` (or forward each port).
"""

from __future__ import annotations

import itertools
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.config import Settings

log = logging.getLogger("assistant.ui")


class WorkersError(RuntimeError):
    """The worker processes cannot start as asked; the message says why."""


def settings_json(settings: Settings) -> str:
    """The settings as JSON a worker reads back with `Settings.model_validate`, secrets included (they
    travel over the worker's stdin pipe, never the command line or a file)."""
    from pydantic import SecretStr

    def plain(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return str(value)

    return json.dumps(settings.model_dump(), default=plain)


@dataclass
class WorkerPool:
    """The extra web processes of one `assistant serve`, on `ports`."""

    ports: list[int]
    processes: list[subprocess.Popen] = field(default_factory=list)

    @classmethod
    def start(cls, settings: Settings, host: str, ports: Sequence[int], insecure_no_auth: bool) -> WorkerPool:
        """Start one worker per port, each a full `assistant serve` (its own models, the same database)."""
        worker = settings.model_copy(
            update={
                "web": settings.web.model_copy(update={"workers": 1}),
                "wyoming": settings.wyoming.model_copy(update={"enabled": False}),
            }
        )
        payload = settings_json(worker).encode("utf-8")
        pool = cls(list(ports))
        for port in pool.ports:
            command = [sys.executable, "-m", "ui.worker", host, str(port)]
            if insecure_no_auth:
                command.append("--insecure-no-auth")
            process = subprocess.Popen(command, stdin=subprocess.PIPE)
            assert process.stdin is not None
            process.stdin.write(payload)
            process.stdin.close()
            pool.processes.append(process)
        return pool

    def wait_until_up(self, host: str, timeout_s: float) -> None:
        """Wait for every worker to answer HTTP; a worker that exits or never answers is an error."""
        import time

        import httpx

        where = host if ":" not in host else f"[{host}]"
        deadline = time.monotonic() + timeout_s
        for port, process in zip(self.ports, self.processes, strict=True):
            while True:
                if process.poll() is not None:
                    self.close()
                    raise WorkersError(f"The web worker on port {port} exited (code {process.returncode}).")
                try:
                    httpx.get(f"http://{where}:{port}/", timeout=5)  # any answer: it is serving
                    break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    self.close()
                    raise WorkersError(f"The web worker on port {port} did not start in {timeout_s:.0f} s.")
                time.sleep(0.5)

    def alive(self, port: int) -> bool:
        for worker_port, process in zip(self.ports, self.processes, strict=True):
            if worker_port == port:
                return process.poll() is None
        return False

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class PageSpreader:
    """ASGI middleware on the main process: each page load (`GET /`) goes to the next process in turn
    (this one included), by a redirect to the same host on that process's port. Other requests, and
    page loads while a worker is down, are served here."""

    def __init__(self, app: Any, own_port: int, worker_ports: Sequence[int], alive: Callable[[int], bool]):
        self.app = app
        self.own_port = own_port
        self.alive = alive
        self._turns = itertools.cycle([own_port, *worker_ports])
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope.get("type") == "http" and scope.get("method") == "GET" and scope.get("path") == "/":
            with self._lock:
                port = next(self._turns)
            if port != self.own_port and self.alive(port):
                await self._redirect(scope, send, port)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _redirect(scope: dict, send: Callable, port: int) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        name = host[: host.index("]") + 1] if host.startswith("[") else host.rsplit(":", 1)[0]
        if not name:
            server = scope.get("server") or ("127.0.0.1", 0)
            name = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
        query = scope.get("query_string", b"").decode("latin-1")
        location = f"{scope.get('scheme', 'http')}://{name}:{port}/" + (f"?{query}" if query else "")
        await send(
            {
                "type": "http.response.start",
                "status": 307,
                "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})
