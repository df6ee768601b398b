"""What every turn of one process shares: the models (loaded once, each under its own lock:
`assistant.model_cache`), the dialog manager, and the scheduler that fires timers and reminders. The
pipeline runs turns on top of it; the listening loop, the NLU lab and the CLIs use it directly."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.memory import Memory, open_memory
from assistant.model_cache import ModelCache
from assistant.speech.types import Synthesizer
from nlu.types import Intent, IntentModel

READINGS_KEPT = 8  # NLU readings remembered (see Runtime.understand)
NLU_MODELS_KEPT = 6  # NLU models held at once (tens of MB each): room for every product model side by
# side (the NLU lab compares them all); past that the least recently used goes (Runtime.nlu_model)


class Runtime:
    """Thread-safe; one per process (the web app, a CLI session, a benchmark)."""

    def __init__(self, settings: Settings, memory: Memory | None = None) -> None:
        self.settings = settings
        self.memory = memory or open_memory(settings)
        self.models = ModelCache(max_entries=NLU_MODELS_KEPT)
        self._trusted_nlu: set[Path] = set()
        self._lock = threading.Lock()
        self._manager: Any = None
        self._scheduler: Any = None
        self._readings: dict[tuple[IntentModel, str], Intent] = {}

    # --- models, each swappable per request by name --------------------------------------------------

    def nlu_model(self, name: str | None = None) -> IntentModel:
        """Intent model `name` (default: the configured one), loaded once under its canonical name; a name a
        request may not use (assistant.nlu_models.resolve_model_name) is refused before anything loads."""
        from assistant.nlu_models import load_intent_model, resolve_model_name

        with self._lock:
            trusted = set(self._trusted_nlu)
        canonical = resolve_model_name(name or self.settings.nlu.model, self.settings, trusted)
        # a blend borrows its members from this cache: picking it beside `lstm` holds one LSTM, not two
        model = self.models.get(
            ("nlu", canonical), lambda: load_intent_model(canonical, self.settings, self.nlu_model)
        )
        self._forget_evicted()
        return model

    def trust_nlu_folder(self, folder: str | Path) -> None:
        """Let requests to this runtime name the saved model in `folder`, wherever it is: for an operator's
        own front end (the chat REPL's `/nlu FOLDER`), never for names a guest types."""
        from assistant.nlu_models import real_path

        real = real_path(Path(folder))
        if real is not None:  # a name no path can be is refused when asked for
            with self._lock:
                self._trusted_nlu.add(real)

    def understand(self, text: str, name: str | None = None) -> tuple[IntentModel, Intent]:
        """The model and its reading of `text` (already as understood: `assistant.text.understood_text`).
        The last few readings are kept: hands-free end-pointing reads the words heard so far, and the turn
        that follows usually reads the same words again."""
        model = self.nlu_model(name)
        key = (model, text)  # the model itself: a model loaded again is read again
        with self._lock:
            found = self._readings.get(key)
        if found is None:
            found = model.predict([text])[0]
            with self._lock:
                self._readings[key] = found
                while len(self._readings) > READINGS_KEPT:
                    self._readings.pop(next(iter(self._readings)))
            self._forget_evicted()
        return model, found

    def _forget_evicted(self) -> None:
        """Readings must not keep an evicted model alive: the cache's bound is the memory bound."""
        held = {id(m) for m in self.models.values()}  # ids stay unique: the readings hold their models
        with self._lock:
            for stale in [k for k in self._readings if id(k[0]) not in held]:
                del self._readings[stale]

    def recognizer(self):  # type: ignore[no-untyped-def]
        from assistant.speech.asr import load_recognizer

        return load_recognizer(self.settings)

    def synthesizer(self, backend: str | None = None) -> Synthesizer:
        from assistant.speech.tts import load_synthesizer

        settings = self.settings
        if backend and backend != settings.tts.backend:
            settings = settings.model_copy(
                update={"tts": settings.tts.model_copy(update={"backend": backend})}
            )
        return load_synthesizer(settings)

    def generator(self, backend: str | None = None):  # type: ignore[no-untyped-def]
        from assistant.dialog.generators import load_generator

        settings = self.settings
        if backend and backend != settings.generator.backend:
            update = {"generator": settings.generator.model_copy(update={"backend": backend})}
            settings = settings.model_copy(update=update)
        return load_generator(settings)

    def nlu_names(self) -> list[str]:
        from nlu.registry import product_names

        return product_names()

    def warm_up(self, speech: bool = True) -> None:
        """Load the default models now rather than on the first request."""
        self.nlu_model()
        self.generator()
        _ = self.manager
        if speech:
            self.recognizer()
            self.synthesizer()
            if self.settings.audio.turn_model:  # else the first pause pays its load
                from assistant.offline import ModelNotAvailableError
                from assistant.speech.turn import load_turn_detector

                # without it listening goes on on the words alone (logged where an end-pointer is made)
                with contextlib.suppress(ModelNotAvailableError):
                    load_turn_detector()

    # --- the dialog manager and the scheduler --------------------------------------------------------

    @property
    def manager(self):  # type: ignore[no-untyped-def]
        from assistant.dialog.manager import DialogManager

        with self._lock:
            if self._manager is None:
                self._manager = DialogManager(self.memory, self.settings)
            return self._manager

    @property
    def scheduler(self):  # type: ignore[no-untyped-def]
        """Fires timers, alarms and reminders; started on first use, stopped by `close()`."""
        from assistant.dialog.manager import user_timezone
        from assistant.dialog.scheduler import Scheduler

        with self._lock:
            if self._scheduler is None:
                self._scheduler = Scheduler(self.memory, tz=user_timezone(self.settings)).start()
            return self._scheduler

    def wake_scheduler(self) -> None:
        """A skill just set something: a timer set for 2 s should not wait for the next poll."""
        if self._scheduler is not None:
            self._scheduler.wake()

    def on_notification(self, callback: Callable[[int, str], None], user_id: int | None = None):  # type: ignore[no-untyped-def]
        """Call `callback(user_id, message)` when a timer, alarm or reminder fires; returns unsubscribe."""
        return self.scheduler.subscribe(lambda alert: callback(alert.user_id, alert.text), user_id=user_id)

    def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
