"""The model cache: one load per key however many ask at once, a slow load blocks only its own key, and
the least recently used model goes when the cache is full."""

from __future__ import annotations

import threading

import pytest

from assistant.model_cache import ModelCache


def test_one_load_per_key_and_other_keys_do_not_wait() -> None:
    cache = ModelCache()
    release = threading.Event()
    started = threading.Event()
    loads: list[str] = []

    def slow_a() -> str:
        loads.append("a")
        started.set()
        release.wait()
        return "model a"

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("a", slow_a))) for _ in range(3)]
    for thread in threads:
        thread.start()
    started.wait()
    # while "a" is still loading, another model loads and is served at once
    assert cache.get("b", lambda: "model b") == "model b"
    release.set()
    for thread in threads:
        thread.join()
    assert results == ["model a"] * 3 and loads == ["a"]


def test_least_recently_used_goes_first() -> None:
    cache = ModelCache(max_entries=2)
    loads: list[str] = []

    def loader(name: str):  # type: ignore[no-untyped-def]
        return lambda: loads.append(name) or name

    cache.get("x", loader("x"))
    cache.get("y", loader("y"))
    cache.get("x", loader("x"))  # x is used again: y is now the oldest
    cache.get("z", loader("z"))
    cache.get("x", loader("x"))
    cache.get("y", loader("y"))  # evicted: loaded again
    assert loads == ["x", "y", "z", "y"]


def test_a_failed_load_is_not_cached() -> None:
    cache = ModelCache()

    def broken() -> str:
        raise RuntimeError("no such model")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            cache.get("bad", broken)
    assert cache.get("bad", lambda: "fixed") == "fixed"
