from __future__ import annotations

import threading

from assistant.memory import Memory, NewTurn
from assistant.memory.db import Database


def test_eight_threads_two_hundred_turns_each(memory) -> None:
    users = [memory.user(f"user{i}") for i in range(8)]
    conversations = [memory.start_conversation(u.id) for u in users]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(index: int) -> None:
        # A separate Memory over the same URL shares the process-wide engine, as the web app's sessions do.
        mem = Memory(Database(memory.db.url))
        user, conv = users[index], conversations[index]
        barrier.wait()
        try:
            for n in range(200):
                mem.append_turn(user.id, conv.id, NewTurn(user_text=f"t{index}-{n}", reply_text="ok"))
                if n % 25 == 0:  # readers interleave with writers
                    mem.recent_turns(user.id, conv.id, 5)
                    mem.search_turns(user.id, f"t{index}-")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert memory.count_turns() == 1600
    for index, user in enumerate(users):
        texts = [t.user_text for t in memory.recent_turns(user.id, conversations[index].id, 1000)]
        assert texts == [f"t{index}-{n}" for n in range(200)]
    assert memory.db.integrity_check() == "ok"
