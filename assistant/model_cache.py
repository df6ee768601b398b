"""Loaded models by key, one lock per key: loading one model (seconds) never blocks a turn that uses
another, and two requests for the same model load it once. Loading never trains.

`shared` holds what one process loads once for everyone (the recognizer, voices, generators, keyed by
their whole configuration); each `Runtime` keeps its own, smaller cache of NLU models, keyed by the
canonical name a requested one resolves to (assistant.nlu_models.resolve_model_name). An evicted model stays
valid for whoever still holds it: a turn keeps a reference to the model it reads with.
"""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class ModelCache:
    def __init__(self, max_entries: int = 16) -> None:
        self.max_entries = max_entries
        self._models: OrderedDict[Hashable, Any] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        with self._guard:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # only this key waits while it loads
            with self._guard:
                if key in self._models:
                    return self._models[key]
            try:
                model = load()
            except BaseException:
                with self._guard:  # a name that fails leaves nothing behind, not even its lock
                    if self._locks.get(key) is lock:
                        del self._locks[key]
                raise
            with self._guard:
                self._models[key] = model
                while len(self._models) > self.max_entries:  # the least recently used goes
                    evicted, _ = self._models.popitem(last=False)
                    self._locks.pop(evicted, None)
            return model

    def __len__(self) -> int:
        with self._guard:
            return len(self._models)

    def values(self) -> list[Any]:
        """The models held now, least recently used first."""
        with self._guard:
            return list(self._models.values())

    def clear(self) -> None:
        with self._guard:
            self._models.clear()
            self._locks.clear()


shared = ModelCache()
# release the models before the interpreter tears modules down (llama.cpp's finaliser needs its module)
atexit.register(shared.clear)
