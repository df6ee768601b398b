"""A small HTTP client for the web app's typed-message turn, speaking Gradio's queue protocol (sse_v3).

The app keeps its turn handlers private to the Gradio client libraries (they depend on per-tab state), so
the load benchmark and the robustness tests drive it the way the browser does: read `/config`, find the
event wired to the message box's Send button by element id, POST `queue/join`, then read the event's
server-sent messages until it completes. The user of a tab is `guest-<session hash>` (ui/session.py), so
each simulated tab knows which database user its acknowledged turns belong to.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

_MARKDOWN_ESCAPE = re.compile(r"\\([\\\[\]()!])")  # ui/render.as_plain_text's escapes
GUEST_PREFIX = "guest-"  # ui/session.py names a tab's user GUEST_PREFIX + session_hash[:16]


class WebClientError(RuntimeError):
    """The server could not be reached, or answered in a way this client does not understand."""


@dataclass(frozen=True)
class TurnEndpoint:
    fn_index: int
    trigger_id: int
    n_inputs: int
    defaults: tuple[Any, ...]  # the pickers' values as the page would send them


@dataclass(frozen=True)
class WebReply:
    ok: bool
    reply: str  # the assistant's last chat message ("" if none)
    status: str  # the status line under the chat
    messages: tuple[str, ...] = ()  # warnings / info toasts and errors the page would show
    seconds: float = 0.0
    markup: str = ""  # the reply as sent to the page (escaped HTML/markdown), before the chat renders it


@dataclass
class WebTab:
    """One browser tab: its own session hash, user and conversation (kept server-side by Gradio)."""

    base_url: str
    endpoint: TurnEndpoint
    session_hash: str = field(default_factory=lambda: secrets.token_hex(8))
    timeout_s: float = 300.0

    @property
    def user_name(self) -> str:
        return f"{GUEST_PREFIX}{self.session_hash[:16]}"

    def send(self, text: str, client: Any) -> WebReply:
        """Type `text`, press Send, wait for the finished turn."""
        start = time.perf_counter()
        message, toasts = self.run(
            self.endpoint.fn_index, self.endpoint.trigger_id, [text, None, *self.endpoint.defaults], client
        )
        return _reply(message, toasts, time.perf_counter() - start)

    def run(
        self, fn_index: int, trigger_id: int | None, data: list[Any], client: Any
    ) -> tuple[dict[str, Any], list[str]]:
        """Trigger any event of the page with `data` as its inputs (None for state) and wait for it:
        (the completed message, with a streaming handler's earlier outputs under "generated"; the toasts
        shown meanwhile)."""
        payload = {
            "data": data,
            "event_data": None,
            "fn_index": fn_index,
            "trigger_id": trigger_id,
            "session_hash": self.session_hash,
        }
        try:
            joined = client.post(  # JSON with \\u escapes, as a browser sends it (lone surrogates too)
                f"{self.base_url}/gradio_api/queue/join",
                content=json.dumps(payload),
                headers={"content-type": "application/json"},
                timeout=30,
            )
        except Exception as exc:
            raise WebClientError(f"cannot reach {self.base_url}: {exc}") from exc
        if joined.status_code != 200:
            raise WebClientError(f"queue/join answered {joined.status_code}: {joined.text[:200]}")
        event_id = joined.json().get("event_id")
        toasts: list[str] = []
        generated: list[dict[str, Any]] = []  # a streaming handler's intermediate outputs, in order
        try:
            with client.stream(
                "GET",
                f"{self.base_url}/gradio_api/queue/data",
                params={"session_hash": self.session_hash},
                timeout=self.timeout_s,
            ) as response:
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    message = json.loads(line[5:])
                    if message.get("event_id") not in (None, event_id):
                        continue
                    kind = message.get("msg")
                    if kind == "log" and message.get("log"):
                        toasts.append(str(message["log"]))
                    elif kind == "unexpected_error":
                        raise WebClientError(str(message.get("message", "unexpected error")))
                    elif kind == "process_generating":
                        generated.append(message.get("output") or {})
                    elif kind == "process_completed":
                        return message | {"generated": generated}, toasts
        except WebClientError:
            raise
        except Exception as exc:
            raise WebClientError(f"the event's stream broke: {exc}") from exc
        raise WebClientError("the event stream ended before the event completed")


def _reply(message: dict[str, Any], toasts: list[str], seconds: float) -> WebReply:
    output = message.get("output") or {}
    if not message.get("success", False):
        error = output.get("error") or "the server reported an error"
        return WebReply(False, "", "", (*toasts, str(error)), seconds)
    data = output.get("data") or []
    chat = data[1] if len(data) > 1 and isinstance(data[1], list) else []
    reply = markup = ""
    for item in reversed(chat):
        if isinstance(item, dict) and item.get("role") == "assistant":
            reply, markup = _content_text(item.get("content")), str(item.get("content"))
            break
    status = data[5] if len(data) > 5 and isinstance(data[5], str) else ""
    return WebReply(True, reply, status, tuple(toasts), seconds, markup)


def _content_text(content: Any) -> str:
    """The text a reader sees: the chat's HTML escapes and markdown backslash escapes undone."""
    if isinstance(content, str):
        return html.unescape(_MARKDOWN_ESCAPE.sub(r"\1", content))
    if isinstance(content, list):
        return " ".join(_content_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    return ""


def find_event(base_url: str, client: Any, elem_id: str, event: str, by_input: bool = False) -> TurnEndpoint:
    """The event `event` ("click", "stop_recording", "tick", ...) of the component with `elem_id`, or
    (`by_input`) the event that takes that component as an input (a timer's tick has no elem_id)."""
    try:
        config = client.get(f"{base_url}/config", timeout=30).json()
    except Exception as exc:
        raise WebClientError(f"cannot read {base_url}/config: {exc}") from exc
    components = {c["id"]: c for c in config.get("components", [])}
    targets = {cid for cid, c in components.items() if c.get("props", {}).get("elem_id") == elem_id}
    for dep in config.get("dependencies", []):
        for target_id, name in dep.get("targets", []):
            matched = bool(targets & set(dep["inputs"])) if by_input else target_id in targets
            if matched and name == event:
                inputs = [components[i] for i in dep["inputs"]]
                defaults = tuple(c.get("props", {}).get("value") for c in inputs)
                return TurnEndpoint(dep["id"], target_id, len(inputs), defaults)
    raise WebClientError(f"{base_url} has no {event!r} event on {elem_id!r}; is it the assistant's web app?")


def page_url(base_url: str, client: Any) -> str:
    """Where a browser opening `base_url` lands: the app spreads page loads over its processes by redirect
    (`web.workers`, see ui/workers.py), and a tab then talks only to the process that served its page."""
    from urllib.parse import urlsplit

    try:
        response = client.get(f"{base_url}/", follow_redirects=False, timeout=30)
    except Exception as exc:
        raise WebClientError(f"cannot reach {base_url}: {exc}") from exc
    if response.is_redirect and response.headers.get("location"):
        target = urlsplit(response.headers["location"])
        return f"{target.scheme}://{target.netloc}"
    return base_url


def find_turn_endpoint(base_url: str, client: Any) -> TurnEndpoint:
    """The event that the Send button (elem_id "send") triggers, with the page's default picker values."""
    event = find_event(base_url, client, "send", "click")
    return TurnEndpoint(event.fn_index, event.trigger_id, event.n_inputs, event.defaults[2:])


def wait_until_up(base_url: str, timeout_s: float, process: Any = None, path: str = "/config") -> None:
    """Poll `path` (Gradio's `/config`) until the server answers; fail early if its process died."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise WebClientError(f"the server exited with code {process.returncode} before it was up")
        try:
            if httpx.get(f"{base_url}{path}", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise WebClientError(f"{base_url} did not come up within {timeout_s:.0f} s")
