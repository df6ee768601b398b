"""Notices wait in the database for the user's web page: any process's scheduler can leave one, any
process serving the page takes it, once; what waits is bounded and goes with `forget me`."""

from __future__ import annotations

from assistant.config import load_settings
from assistant.memory import open_memory
from assistant.memory.notices import MAX_WAITING


def test_notices_wait_per_user_are_taken_once_and_are_bounded(tmp_path):
    memory = open_memory(load_settings({"data_dir": tmp_path}))
    ana, ben = memory.user("ana").id, memory.user("ben").id
    assert memory.take_notices(ana) == [] and not memory.has_notices(ana)
    for i in range(MAX_WAITING + 5):
        memory.notify(ana, f"alarm {i}")
    memory.notify(ben, "ben's timer")
    taken = [text for _, text in memory.take_notices(ana)]
    assert taken == [f"alarm {i}" for i in range(5, MAX_WAITING + 5)]  # the newest MAX_WAITING, oldest first
    assert memory.take_notices(ana) == [] and [t for _, t in memory.take_notices(ben)] == ["ben's timer"]
    memory.notify(ana, "one more")
    assert memory.forget_user(ana) and memory.take_notices(ana) == []
