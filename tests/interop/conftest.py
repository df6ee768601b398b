"""A Wyoming server started in-process on a free port, over a private database and the real default models."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from platformdirs import user_cache_dir

from assistant.config import Settings, load_settings

MODEL_CACHE = Path(user_cache_dir("assistant"))  # where `assistant models prepare` put the defaults
SPEECH_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech"


def wyoming_settings(data_dir: Path, **wyoming: object) -> Settings:
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            os.environ.pop(key)
    return load_settings(
        {
            "data_dir": data_dir,
            "cache_dir": MODEL_CACHE,
            "tts": {"deterministic": True},
            "audio": {"max_seconds": 20},
            "wyoming": wyoming,
        }
    )


def run_async(coroutine):  # type: ignore[no-untyped-def]
    """`asyncio.run` on a thread of its own: the browser tests' Playwright (sync API, session-scoped) keeps
    an event loop running in the main thread for the rest of the session, where asyncio.run refuses."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class RunningServer:
    """A WyomingServer on 127.0.0.1:<free port>, its event loop in a background thread."""

    def __init__(self, settings: Settings) -> None:
        from assistant.pipeline import Pipeline
        from assistant.wyoming.binding import Binding
        from assistant.wyoming.server import WyomingServer

        self.pipeline = Pipeline(settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = WyomingServer(self.pipeline)
        self._call(self.server.start(Binding("tcp", host="127.0.0.1", port=0)))
        self.port = self.server.port

    def _call(self, coroutine):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        self._call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.pipeline.runtime.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    from assistant.memory.db import dispose_engine

    settings = wyoming_settings(tmp_path_factory.mktemp("wyoming-data"))
    running = RunningServer(settings)
    yield running
    running.close()
    dispose_engine(settings.database_url)
