from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from sqlalchemy import text

from assistant.memory import Memory
from assistant.memory.db import Database, dispose_engine

CHILD = textwrap.dedent(
    """
    import sys
    from assistant.memory import Memory, NewTurn
    from assistant.memory.db import Database
    mem = Memory(Database(sys.argv[1]))
    user = mem.user("writer")
    conv = mem.start_conversation(user.id)
    n = 0
    while True:
        turn = mem.append_turn(user.id, conv.id, NewTurn(user_text=f"turn {n}", reply_text="x" * 2000))
        print(turn.id, flush=True)  # printed only after the commit returned
        n += 1
    """
)


def test_sigkill_loses_no_committed_turn(memory) -> None:
    url = memory.db.url
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    reported: list[int] = []
    deadline = time.monotonic() + 60
    assert child.stdout is not None
    while len(reported) < 300 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        reported.append(int(line))
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    reported.extend(int(line) for line in child.stdout.read().split())  # anything printed before the kill

    assert len(reported) >= 300, "child did not get going"
    dispose_engine(url)
    fresh = Memory(Database(url))
    assert fresh.db.integrity_check() == "ok"
    with fresh.db.engine.connect() as conn:
        stored = {row[0] for row in conn.execute(text("SELECT id FROM turns"))}
    assert set(reported) <= stored
