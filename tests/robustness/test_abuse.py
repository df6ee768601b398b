"""Issue 18 over HTTP: what one client (or a page on another site) can make the web app do is bounded.

Each test serves the real app (`ui.app.build_app` + `launch`, with its guard) in this process on
127.0.0.1, with small limits where the defaults would make a test slow (an upload quota of a few MB
instead of hundreds), and attacks it the way the issue found: forged Host and Origin headers, huge and
many-part bodies, unknown events, brute-forced sign-ins, markup in what users type, a lone surrogate,
and more tabs than the server keeps. Each checks the attacker gets a clear message and nothing lands.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.robustness.conftest import free_port

PASSWORD = "correct horse battery staple"


@contextmanager
def served(pipeline: Any, auth: bool = False, **web: Any) -> Iterator[str]:
    """The real web app on a free loopback port with `web` settings changed; closed afterwards."""
    from ui.app import build_app, launch

    audio = {"max_upload_mb": web.pop("max_upload_mb")} if "max_upload_mb" in web else {}
    web.setdefault("guest_tabs", True)  # each WebTab is its own user, as these tests count them
    settings = pipeline.settings.model_copy(
        update={
            "web": pipeline.settings.web.model_copy(update=web),
            "audio": pipeline.settings.audio.model_copy(update=audio),
            "auth": pipeline.settings.auth.model_copy(
                update={"username": "me", "password": PASSWORD, "lockout_s": 600.0} if auth else {}
            ),
        }
    )
    demo = build_app(pipeline, settings)
    port = free_port()
    credentials = ("me", PASSWORD) if auth else None
    launch(demo, settings, "127.0.0.1", port, auth=credentials, block=False, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app_url(pipeline: Any) -> Iterator[str]:
    with served(pipeline, upload_quota_mb=3.0, max_upload_mb=1.0, max_sessions=3) as url:
        yield url


def upload(url: str, files: list[tuple[str, bytes]], **headers: str) -> httpx.Response:
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    return httpx.post(f"{url}/gradio_api/upload", files=parts, headers=headers, timeout=60)


def detail(response: httpx.Response) -> str:
    return str(response.json().get("detail", ""))


def upload_dir(url: str) -> Path:
    """Where this server keeps uploads (from the path a small, allowed upload gets)."""
    response = upload(url, [("probe.txt", b"probe")])
    assert response.status_code == 200, response.text
    return Path(response.json()[0]).parent.parent


def declared_only(url: str, path: str, length: int) -> tuple[int, str]:
    """Send headers declaring a `length`-byte body, none of it, and read the answer."""
    import http.client

    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", path)
    connection.putheader("content-type", "application/json")
    connection.putheader("content-length", str(length))
    connection.endheaders()
    response = connection.getresponse()
    answer = response.status, response.read().decode()
    connection.close()
    return answer


def files_in(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def test_a_forged_host_is_refused(app_url: str) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends `Host: evil.example`."""
    port = app_url.rsplit(":", 1)[1]
    refused = httpx.get(f"{app_url}/config", headers={"host": f"evil.example:{port}"})
    assert refused.status_code == 403 and "host name" in detail(refused)
    assert httpx.get(f"{app_url}/config", headers={"host": f"localhost:{port}"}).status_code == 200


def test_another_site_cannot_upload_or_start_turns(app_url: str) -> None:
    folder = upload_dir(app_url)
    before = files_in(folder)
    forged = upload(app_url, [("x.wav", b"RIFF" + bytes(100))], origin="http://evil.example")
    assert forged.status_code == 403 and "own pages" in detail(forged)
    join = httpx.post(
        f"{app_url}/gradio_api/queue/join",
        content=json.dumps({"data": [], "fn_index": 0, "session_hash": "x"}),
        headers={"origin": "http://evil.example", "content-type": "application/json"},
    )
    assert join.status_code == 403
    assert files_in(folder) == before, "a cross-site upload landed on disk"
    port = app_url.rsplit(":", 1)[1]
    own = upload(app_url, [("ok.txt", b"ok")], origin=f"http://127.0.0.1:{port}")
    assert own.status_code == 200, "the page's own uploads must still work"


def test_a_huge_body_is_refused_without_reading_it(app_url: str) -> None:
    """A 300 MB JSON body: refused from its declared length; a streamed one is cut off at the limit."""
    import psutil

    process = psutil.Process(os.getpid())
    before = process.memory_info().rss
    declared = declared_only(app_url, "/gradio_api/queue/join", 300 * 1024 * 1024)
    assert declared[0] == 413 and "too large" in declared[1]

    def body() -> Iterator[bytes]:
        block = b'{"data": ["' + b"x" * (1024 * 1024)
        for _ in range(300):
            yield block

    try:
        streamed = httpx.post(
            f"{app_url}/gradio_api/queue/join",
            content=body(),
            headers={"content-type": "application/json"},
            timeout=60,
        )
        assert streamed.status_code == 413 and "too large" in detail(streamed)
    except httpx.HTTPError:
        pass  # the server may close the connection while the client is still sending: also refused
    grown = (process.memory_info().rss - before) / 1024 / 1024
    assert grown < 100, f"the server grew by {grown:.0f} MB reading a refused body"
    assert httpx.get(f"{app_url}/config").status_code == 200


def test_uploads_are_bounded_per_request_and_per_client(app_url: str) -> None:
    folder = upload_dir(app_url)
    before = files_in(folder)
    many = upload(app_url, [(f"f{i}.txt", b"x") for i in range(50)])
    assert many.status_code == 413 and "files per upload" in detail(many)
    big = upload(app_url, [("big.wav", bytes(2 * 1024 * 1024))])
    assert big.status_code == 413 and "too large" in detail(big)
    assert files_in(folder) == before
    statuses = [upload(app_url, [(f"{i}.wav", bytes(900 * 1024))]).status_code for i in range(5)]
    assert statuses[:2] == [200, 200] and statuses[-1] == 429, statuses  # quota: 3 MB an hour


def test_unknown_events_and_malformed_uploads_get_clear_messages(app_url: str) -> None:
    unknown = httpx.post(
        f"{app_url}/gradio_api/queue/join",
        content=json.dumps({"data": [], "fn_index": 9999, "session_hash": "abc", "trigger_id": 1}),
        headers={"content-type": "application/json"},
    )
    assert unknown.status_code == 404 and "No such event" in detail(unknown)
    no_filename = httpx.post(
        f"{app_url}/gradio_api/upload",
        content=b'--B\r\nContent-Disposition: form-data; name="files"\r\n\r\nabc\r\n--B--\r\n',
        headers={"content-type": "multipart/form-data; boundary=B"},
    )
    assert no_filename.status_code == 400 and "filename" in detail(no_filename)


def test_typed_markup_is_shown_not_rendered(app_url: str) -> None:
    from assistant.bench.webclient import WebTab, find_turn_endpoint

    with httpx.Client() as client:
        tab = WebTab(app_url, find_turn_endpoint(app_url, client))
        covered = tab.send('add <div style="position:fixed;inset:0">x</div> to my shopping list', client)
        assert covered.ok and "<div" not in covered.markup and "&lt;div" in covered.markup
        image = tab.send("add ![t](http://example.invalid/x.png) to my shopping list", client)
        assert image.ok and "](" not in image.markup.replace("]\\(", ""), image.markup
        surrogate = tab.send("what time is it \ud800", client)
        assert surrogate.ok and any(ch.isdigit() for ch in surrogate.reply), surrogate
        long = tab.send("x" * 30_000, client)
        assert long.ok and any("too long" in m for m in long.messages), long


def test_sessions_beyond_capacity_are_freed(app_url: str, pipeline: Any) -> None:
    """Capacity 3: after four newer tabs took turns, the first tab's state was dropped (its next turn
    starts a new conversation), while its stored turns stay in the database."""
    from assistant.bench.webclient import WebTab, find_turn_endpoint

    with httpx.Client() as client:
        endpoint = find_turn_endpoint(app_url, client)
        first = WebTab(app_url, endpoint)
        assert first.send("what time is it", client).ok
        for _ in range(4):
            assert WebTab(app_url, endpoint).send("what time is it", client).ok
        assert first.send("what time is it", client).ok
    user = pipeline.memory.user(first.user_name)
    conversations = pipeline.memory.list_conversations(user.id, limit=10)
    assert len(conversations) == 2, "the first tab's session was kept beyond the capacity"


def test_sign_in_is_throttled_per_client(pipeline: Any) -> None:
    with served(pipeline, auth=True) as url:
        statuses = [
            httpx.post(f"{url}/login", data={"username": "me", "password": f"guess{i}"}).status_code
            for i in range(8)
        ]
        assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}, statuses
        locked = httpx.post(f"{url}/login", data={"username": "me", "password": PASSWORD})
        assert locked.status_code == 429 and "try again in" in detail(locked)


def test_the_training_form_refuses_absurd_numbers(app_url: str) -> None:
    from assistant.bench.webclient import WebTab, find_event

    with httpx.Client() as client:
        train = find_event(app_url, client, "lab-train", "click")
        tab = WebTab(app_url, train)
        for value in (1e308, -5, 0.5e6):
            message, _ = tab.run(train.fn_index, train.trigger_id, ["lstm", "hwu64", value], client)
            error = str((message.get("output") or {}).get("error") or "")
            # Gradio checks the form's bounds; the handler checks again for clients that skip the form
            assert not message.get("success") and re.search(r"maximum|minimum|whole number", error), error
