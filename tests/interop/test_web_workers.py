"""`web.workers`: the web app in several processes over one database (ui/workers.py).

Page loads at the main port go to each process in turn by a redirect; a tab then talks only to the process
that served its page. Typed turns through both processes are stored; an alarm fired by whichever process's
scheduler leased it waits in the database for the user's page (`assistant.memory.notices`); stopping the
main process stops its workers.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.interop.conftest import run_async
from tests.robustness.conftest import MODEL_CACHE, clean_env, nlu_model_name

START_S = 300.0  # a hang guard: two processes load their models on a small shared machine


# --- the redirect, without servers -------------------------------------------------------------------


def call(spreader, path: str = "/", method: str = "GET", host: str = "localhost:7860", query: bytes = b""):
    """One request through `spreader`: ('app', None) when passed on, else (status, location)."""
    sent: list[dict] = []

    async def app(scope, receive, send):
        sent.append({"type": "app"})

    async def send(message):
        sent.append(message)

    spreader.app = app
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "scheme": "http",
        "query_string": query,
        "headers": [(b"host", host.encode())],
    }
    run_async(spreader(scope, None, send))
    if sent[0]["type"] == "app":
        return "app", None
    headers = dict(sent[0]["headers"])
    return sent[0]["status"], headers[b"location"].decode()


def test_page_loads_go_to_each_process_in_turn_and_nothing_else_moves():
    from ui.workers import PageSpreader

    alive = {7861: True, 7862: True}
    spreader = PageSpreader(None, own_port=7860, worker_ports=[7861, 7862], alive=lambda p: alive[p])
    loads = [call(spreader) for _ in range(6)]
    assert (
        loads
        == [
            ("app", None),
            (307, "http://localhost:7861/"),
            (307, "http://localhost:7862/"),
        ]
        * 2
    )
    # the query string goes along; an IPv6 host keeps its brackets
    assert call(spreader, host="[::1]:7860", query=b"__theme=dark") == ("app", None)
    assert call(spreader, host="[::1]:7860", query=b"__theme=dark") == (
        307,
        "http://[::1]:7861/?__theme=dark",
    )
    # only page loads move: the API, Gradio's queue and a POST to / stay here
    for path, method in (("/v1/models", "GET"), ("/gradio_api/queue/join", "POST"), ("/", "POST")):
        assert call(spreader, path, method) == ("app", None)
    # a worker that died gets no page loads
    alive[7862] = False
    loads = [call(spreader) for _ in range(3)]
    assert loads.count(("app", None)) == 2 and (307, "http://localhost:7861/") in loads, loads


def test_settings_reach_the_workers_with_their_secrets(tmp_path):
    from assistant.config import Settings, load_settings
    from assistant.config import web_processes as worker_count
    from ui.workers import settings_json

    settings = load_settings(
        {
            "data_dir": tmp_path,
            "auth": {"username": "me", "password": "a long enough password"},
            "web": {"workers": 3},
        }
    )
    back = Settings.model_validate_json(settings_json(settings))
    assert back.auth.password.get_secret_value() == "a long enough password"
    assert back.data_dir == settings.data_dir and back.web.workers == 3 and worker_count(back) == 3
    assert worker_count(load_settings({"data_dir": tmp_path, "web": {"workers": 0}})) >= 1


# --- two processes ---------------------------------------------------------------------------------


def free_pair() -> int:
    from assistant.bench.load import free_ports

    return free_ports(2)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_processes_serve_tabs_share_one_database_and_stop_together(tmp_path: Path):
    from assistant.bench.webclient import WebTab, find_turn_endpoint, page_url, wait_until_up
    from assistant.config import load_settings
    from assistant.memory import open_memory
    from assistant.memory.db import dispose_engine
    from assistant.memory.models import Notice, Turn

    port = free_pair()
    env = clean_env() | {
        "ASSISTANT_DATA_DIR": str(tmp_path),
        "ASSISTANT_CACHE_DIR": str(MODEL_CACHE),
        "ASSISTANT_NLU__MODEL": nlu_model_name(),
        "ASSISTANT_WAKE__ENABLED": "false",
        "ASSISTANT_WEB__GUEST_TABS": "true",  # a user per tab, as `WebTab` expects
        "ASSISTANT_WEB__WORKERS": "2",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    command = [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = (tmp_path / "server.log").open("wb")
    main = subprocess.Popen([*command, "--no-warm-up"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, START_S, main)
        with httpx.Client() as client:
            # the guard runs first: a page load under a Host this server does not answer to (DNS
            # rebinding) is refused, never redirected to that host
            rebound = client.get(f"{base}/", headers={"Host": f"evil.example:{port}"}, follow_redirects=False)
            assert rebound.status_code in (400, 403, 421) and "location" not in rebound.headers, rebound
            landed = [page_url(base, client) for _ in range(2)]
            assert landed == [base, f"http://127.0.0.1:{port + 1}"], landed
            endpoint = find_turn_endpoint(base, client)
            tabs = [WebTab(url, endpoint, timeout_s=120) for url in landed]
            replies = [tab.send("add milk to my shopping list", client) for tab in tabs]
            assert all(r.ok and "milk" in r.reply.lower() for r in replies), replies
            alarm = tabs[1].send("set a timer for 1 second", client)  # on the worker
            assert alarm.ok, alarm
        memory = open_memory(load_settings({"data_dir": tmp_path}))
        users = [memory.user(tab.user_name).id for tab in tabs]
        with memory.db.read() as session:
            stored = {t.user_id for t in session.query(Turn).filter(Turn.user_id.in_(users))}
        assert stored == set(users)
        # the timer fired in one of the processes and waits in the database for the worker's tab
        deadline = time.monotonic() + 60
        while not memory.has_notices(users[1]) and time.monotonic() < deadline:
            time.sleep(0.25)
        with memory.db.read() as session:
            notices = session.query(Notice).filter(Notice.user_id == users[1]).count()
        assert notices == 1
        dispose_engine(memory.db.url)
    finally:
        if main.poll() is None:
            main.send_signal(signal.SIGTERM)  # the main process only: it stops its worker
            main.wait(60)
        log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and port_answers(port + 1):
        time.sleep(0.5)
    assert not port_answers(port + 1), (tmp_path / "server.log").read_text()[-2000:]


def port_answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
        return True
    except httpx.HTTPError:
        return False
