"""More than one machine: two `assistant serve` replicas on one PostgreSQL database.

Each simulated user is one session hash (so one database user) with a tab on each replica; its typed turns
alternate between the two, as behind a round-robin balancer. Midway replica A is killed (SIGKILL, no
shutdown). Then: every acknowledged turn is stored, the cross-table checks hold, and every timer, alarm and
reminder that came due fired exactly once over both replicas (each replica's scheduler logs what it
delivers), the ones due after the kill, and those A held a lease on, by the survivor.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.foundation import postgres
from tests.foundation.conftest import postgres_admin_url  # noqa: F401 (fixture)
from tests.robustness.conftest import MODEL_CACHE, clean_env, free_port, nlu_model_name

pytestmark = pytest.mark.timeout(900)

START_S = 300.0  # a hang guard for two servers loading models on a small shared machine
FIRE_GUARD_S = 90.0  # due items must have fired by then (the scheduler polls every 0.5 s)
USERS = 3
TURNS_BEFORE_KILL = 4  # per user, alternating replicas
TURNS_AFTER_KILL = 3  # per user, still alternating: those sent to the dead replica are not acknowledged
FIRED = re.compile(r"alert (timer|alarm|reminder) (\d+) for user (\d+) fired by (\S+)")
# `assistant serve` as shipped, with the scheduler's INFO lines (what it delivered) in the server log
SERVE_WITH_ALERT_LOG = (
    "import logging, sys; logging.basicConfig(level=logging.WARNING, stream=sys.stderr); "
    "logging.getLogger('assistant.dialog.scheduler').setLevel(logging.INFO); "
    "from assistant.cli import app; sys.argv[0] = 'assistant'; app()"
)


@pytest.fixture(scope="module")
def database_url(postgres_admin_url: str) -> str:  # noqa: F811 (the fixture)
    """A database of its own on the session's throwaway PostgreSQL server (skips where there is none)."""
    return postgres.create_database(postgres_admin_url, "replicas")


def start_replica(url: str, data_dir: Path, port: int) -> subprocess.Popen:
    env = clean_env() | {
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_CACHE_DIR": str(MODEL_CACHE),
        "ASSISTANT_DATABASE_URL": url,
        "ASSISTANT_NLU__MODEL": nlu_model_name(),
        "ASSISTANT_GENERATOR__MAX_NEW_TOKENS": "12",
        "ASSISTANT_WAKE__ENABLED": "false",
        "ASSISTANT_WEB__GUEST_TABS": "true",  # a user per session hash, as on an exposed server
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    args = [sys.executable, "-c", SERVE_WITH_ALERT_LOG, "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = (data_dir / "server.log").open("ab")
    return subprocess.Popen(
        [*args, "--no-warm-up"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def add_due(memory, user_id: int, due: datetime, n: int, leased_by: str | None = None) -> tuple[str, int]:
    """A timer, an alarm or a reminder (by n) due at `due`; optionally already leased by a replica."""
    from assistant.memory.models import Reminder, Timer

    with memory.db.write() as session:
        if n % 3 == 2:
            row = Reminder(user_id=user_id, text=f"stretch {n}", due_at=due)
        else:
            row = Timer(user_id=user_id, kind=("timer", "alarm")[n % 3], label=f"item {n}", due_at=due)
        if leased_by is not None:  # what a replica killed between lease and delivery leaves behind
            row.claimed_by, row.claimed_until = leased_by, datetime.now(UTC) + timedelta(seconds=3)
        session.add(row)
        session.flush()
        return ("reminder" if isinstance(row, Reminder) else row.kind, row.id)


def fired_lines(*logs: Path) -> list[tuple[str, int, str]]:
    found = []
    for log in logs:
        for match in FIRED.finditer(log.read_text(errors="replace")):
            found.append((match[1], int(match[2]), match[4]))
    return found


def consistency_problems(memory) -> list[str]:
    """Cross-table checks that mean something on PostgreSQL too (SQLite's PRAGMA check is 'ok' there)."""
    from sqlalchemy import func, select

    from assistant.memory.models import Conversation, Reminder, Timer, Turn

    problems = []
    with memory.db.read() as session:
        crossed = session.scalar(
            select(func.count())
            .select_from(Turn)
            .join(Conversation, Turn.conversation_id == Conversation.id)
            .where(Turn.user_id != Conversation.user_id)
        )
        if crossed:
            problems.append(f"{crossed} turns stored under another user's conversation")
        for model in (Timer, Reminder):
            held = session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.status != "active", model.claimed_until.is_not(None))
            )
            if held:
                problems.append(f"{held} {model.__tablename__} settled but still leased")
    integrity = memory.db.integrity_check()
    if integrity != "ok":
        problems.append(f"integrity check: {integrity}")
    return problems


def test_two_replicas_one_killed_mid_load(database_url: str, tmp_path: Path) -> None:
    import httpx

    from assistant.bench.load import message
    from assistant.bench.webclient import WebClientError, WebTab, find_turn_endpoint, wait_until_up
    from assistant.config import load_settings
    from assistant.memory import open_memory
    from assistant.memory.db import dispose_engine

    for key in [k for k in os.environ if k.startswith("ASSISTANT_")]:
        os.environ.pop(key)
    settings = load_settings({"data_dir": tmp_path / "test", "database_url": database_url})
    memory = open_memory(settings)  # migrated once, before either replica starts
    dirs = {name: tmp_path / name for name in "ab"}
    replicas, urls = {}, {}
    try:
        for name, folder in dirs.items():
            folder.mkdir()
            port = free_port()
            replicas[name] = start_replica(database_url, folder, port)
            urls[name] = f"http://127.0.0.1:{port}"
        for name in dirs:
            try:
                wait_until_up(urls[name], START_S, replicas[name])
            except WebClientError as exc:
                tail = (dirs[name] / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"replica {name} did not start: {exc}\n{tail}")
        with httpx.Client() as client:
            endpoints = {name: find_turn_endpoint(urls[name], client) for name in dirs}
        session_hashes = [os.urandom(8).hex() for _ in range(USERS)]
        tabs = [
            {name: WebTab(urls[name], endpoints[name], session_hash=h, timeout_s=START_S) for name in dirs}
            for h in session_hashes
        ]
        acknowledged: list[tuple[str, str, str]] = []  # (user, text, replica)
        lock = threading.Lock()

        def turns(index: int, first: int, count: int) -> None:
            rng = np.random.default_rng(index)
            with httpx.Client() as client:
                for turn in range(first, first + count):
                    name = "ab"[turn % 2]
                    tab = tabs[index][name]
                    text = message(index, turn, 0.0, rng)  # skill turns only: no open question
                    try:
                        reply = tab.send(text, client)
                    except WebClientError:
                        continue  # not acknowledged: the replica is gone
                    if reply.ok and reply.reply:
                        with lock:
                            acknowledged.append((tab.user_name, text, name))

        def load(first: int, count: int) -> None:
            threads = [threading.Thread(target=turns, args=(i, first, count)) for i in range(USERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(START_S * 2)

        # phase 1: both replicas up, turns split across them; items come due while both schedulers run
        users = [memory.user(tab["a"].user_name) for tab in tabs]
        soon = datetime.now(UTC) + timedelta(seconds=2)
        due = {add_due(memory, u.id, soon, n) for n, u in enumerate(users * 3)}
        loader = threading.Thread(target=load, args=(0, TURNS_BEFORE_KILL))
        loader.start()
        loader.join(START_S * 3)
        assert {name for _, _, name in acknowledged} == {"a", "b"}, acknowledged

        # replica A dies mid-load (no shutdown), while the users go on sending to both
        loader = threading.Thread(target=load, args=(TURNS_BEFORE_KILL, TURNS_AFTER_KILL))
        loader.start()
        stop(replicas["a"], signal.SIGKILL)
        now = datetime.now(UTC)
        after_kill = {add_due(memory, u.id, now + timedelta(seconds=1), 10 + n) for n, u in enumerate(users)}
        held = {add_due(memory, u.id, now, 20 + n, leased_by="replica-a-killed") for n, u in enumerate(users)}
        due |= after_kill | held
        loader.join(START_S * 3)

        deadline = datetime.now(UTC) + timedelta(seconds=FIRE_GUARD_S)
        while datetime.now(UTC) < deadline:
            counts = Counter(
                (kind, id_) for kind, id_, _ in fired_lines(*(d / "server.log" for d in dirs.values()))
            )
            if set(counts) >= due:
                break
            threading.Event().wait(0.5)
        fired = fired_lines(*(d / "server.log" for d in dirs.values()))
        counts = Counter((kind, id_) for kind, id_, _ in fired)
        assert set(counts) == due, f"not fired: {due - set(counts)}; unexpected: {set(counts) - due}"
        assert [key for key, n in counts.items() if n != 1] == [], "fired more than once"
        survivor = {(kind, id_) for kind, id_, owner in fired if f":{replicas['b'].pid}:" in owner}
        assert after_kill | held <= survivor, "the survivor did not fire what came due after the kill"

        # nothing acknowledged was lost, on either replica
        expected: dict[str, Counter[str]] = {}
        for user, text, _ in acknowledged:
            expected.setdefault(user, Counter())[text] += 1
        for name, wanted in expected.items():
            user = memory.user(name)
            stored: Counter[str] = Counter()
            for conversation in memory.list_conversations(user.id, limit=1000):
                stored.update(t.user_text for t in memory.recent_turns(user.id, conversation.id, 10_000))
            assert wanted - stored == Counter(), f"{name}: acknowledged but not stored"
        assert {name for _, _, name in acknowledged} == {"a", "b"}
        assert consistency_problems(memory) == []
        for user in users:  # every due row is settled as fired, by the replica that delivered it
            settled = {(t.kind, t.id): t.status for t in memory.timers(user.id, status=None)}
            settled |= {("reminder", r.id): r.status for r in memory.reminders(user.id, status=None)}
            assert {key: settled[key] for key in due if key in settled} == {
                key: "fired" for key in due if key in settled
            }
    finally:
        for process in replicas.values():
            stop(process)
        dispose_engine(database_url)
