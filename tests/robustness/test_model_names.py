"""Issue 18, items 2 and 4: the NLU model a request names (the web app's picker takes typed values).

Every spelling of one folder is one model, loaded once; only product names and models saved under the
assistant's own NLU cache load (plus the operator's configured folder); everything else gets one message that
never says whether a path exists; the cache holds a bounded number of models; a guest cannot cause training,
and a slow load blocks only requests for that model.
"""

from __future__ import annotations

import gc
import os
import shutil
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import assistant.nlu_models
from assistant.events import ErrorEvent, IntentEvent, TurnDoneEvent, TurnRequest
from assistant.model_cache import ModelCache
from assistant.runtime import NLU_MODELS_KEPT, Runtime
from tests.robustness.conftest import assert_clear_outcome, make_settings, run_turn

LOAD_GUARD_S = 120.0  # a hang guard for the blocked load, not a speed check


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tf-idf intent model (8 intents x 12 examples, ~90 KB), saved once and copied where needed."""
    from nlu.data import load_dataset, subsample
    from nlu.registry import create

    model = create("tfidf-logreg", max_iter=300)
    model.fit(subsample(load_dataset("hwu64"), per_intent=12, intents=8, seed=1))
    folder = tmp_path_factory.mktemp("saved") / "tfidf-small"
    model.save(folder)
    return folder


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(make_settings(tmp_path / "data", cache_dir=tmp_path / "cache"))
    yield rt
    rt.close()


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names the runtime actually loads (the real loader still runs)."""
    seen: list[str] = []
    real = assistant.nlu_models.load_intent_model

    def counting(name: str, settings: Any, load_member: Any = None) -> Any:
        seen.append(name)
        return real(name, settings, load_member)

    monkeypatch.setattr(assistant.nlu_models, "load_intent_model", counting)
    return seen


def lab_folder(runtime: Runtime, name: str, source: Path) -> Path:
    """A copy of `source` where the NLU lab saves the models it trains."""
    from ui.nlu_lab import web_models_dir

    folder = web_models_dir(runtime.settings) / name
    shutil.copytree(source, folder)
    return folder


def refusal(runtime: Runtime, name: str) -> str:
    """The message a request for `name` gets, with the name itself replaced so messages compare exactly."""
    with pytest.raises(Exception) as info:
        runtime.nlu_model(name)
    return str(info.value).replace(repr(name), "NAME")


def test_every_spelling_of_one_folder_is_one_model(
    runtime: Runtime, small_model: Path, loads: list[str]
) -> None:
    folder = lab_folder(runtime, "tfidf-small", small_model)
    (folder.parent / "alias").symlink_to(folder)  # a link inside the cache to a model inside it
    text = str(folder)
    spellings = [
        text,
        text + "/",
        text.replace("/web/", "/web//"),
        text.replace("/web/", "/web/./"),
        text.replace("/web/", "/web/../web/"),
        str(folder.parent / "alias"),
    ]
    models = [runtime.nlu_model(s) for s in spellings]
    assert all(m is models[0] for m in models)
    assert loads == [str(folder.resolve())] and len(runtime.models) == 1
    assert models[0].predict(["set an alarm for six am"])[0].label == "alarm_set"


def test_paths_outside_the_cache_get_one_message_whether_they_exist_or_not(
    runtime: Runtime, small_model: Path, tmp_path: Path, loads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # short relative names: each is repeated whole in its message
    (tmp_path / "cache" / "nlu" / "web").mkdir(parents=True)
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "a-file.txt").write_text("x")
    probes = {
        "a saved model outside the cache": os.path.relpath(small_model),
        "a missing path outside": "no-such-folder",
        "an existing folder, not a model": "empty-folder",
        "an existing file": "a-file.txt",
        "a system folder": "/etc",
        "a missing path inside the cache": "cache/nlu/web/no-such-model",
        "a folder inside the cache, not a model": "cache/nlu/web",
        "a name no path can be": "bad\x00name",
        "an unknown name": "gpt-17",
    }
    messages = {what: refusal(runtime, name) for what, name in probes.items()}
    first = messages["a saved model outside the cache"]
    assert all(m == first for m in messages.values()), messages
    assert first.startswith("Unknown NLU model NAME: pick one of lstm,"), first
    assert "config.json" not in first and "exist" not in first and "folder" not in first, first
    assert loads == [] and len(runtime.models) == 0
    assert len(refusal(runtime, "/x" * 50_000)) < 300  # a huge name is not echoed whole


def test_a_link_in_the_cache_to_a_model_outside_is_refused(
    runtime: Runtime, small_model: Path, tmp_path: Path, loads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = runtime.settings.cache_dir / "nlu" / "web"
    inside.mkdir(parents=True)
    (inside / "outside-link").symlink_to(small_model)
    monkeypatch.chdir(tmp_path)
    assert refusal(runtime, "cache/nlu/web/outside-link") == refusal(runtime, "no-such-folder")
    assert loads == []


def test_the_cache_never_holds_more_than_its_bound(
    runtime: Runtime, small_model: Path, loads: list[str]
) -> None:
    """Distinct allowed models, read as turns read them: the cache and what its readings keep stay bounded."""
    count = NLU_MODELS_KEPT + 3
    folders = [lab_folder(runtime, f"model-{i}", small_model) for i in range(count)]
    alive: list[weakref.ref] = []
    for folder in folders:
        model, intent = runtime.understand("set an alarm for six am", str(folder))
        assert intent.label == "alarm_set"
        alive.append(weakref.ref(model))
        del model
        assert len(runtime.models) <= NLU_MODELS_KEPT
    gc.collect()
    assert sum(ref() is not None for ref in alive) == NLU_MODELS_KEPT  # readings keep no evicted model
    assert len(loads) == count
    runtime.nlu_model(str(folders[-1]))  # still held
    runtime.nlu_model(str(folders[0]))  # the least recently used went first: loaded again
    assert len(loads) == count + 1


def test_the_operators_own_folders_still_load(tmp_path: Path, small_model: Path, loads: list[str]) -> None:
    """`assistant chat --nlu FOLDER` (settings.nlu.model) and folders the operator trusts load from anywhere."""
    rt = Runtime(
        make_settings(tmp_path / "data", cache_dir=tmp_path / "cache", nlu={"model": str(small_model)})
    )
    try:
        assert rt.nlu_model() is rt.nlu_model(str(small_model) + "/")
        other = tmp_path / "operator-model"
        shutil.copytree(small_model, other)
        refused = refusal(rt, str(other))
        assert refused.startswith("Unknown NLU model NAME"), refused
        rt.trust_nlu_folder(other)
        rt.nlu_model(str(other))
        assert loads == [str(small_model.resolve()), str(other.resolve())]
    finally:
        rt.close()


def test_the_nlu_lab_compare_checks_names_like_a_turn(
    runtime: Runtime, small_model: Path, loads: list[str]
) -> None:
    from ui.nlu_lab import compare_models

    saved = str(lab_folder(runtime, "tfidf-small", small_model))
    outside = str(small_model)
    results = compare_models(runtime, "set an alarm for six am", [saved, outside, saved, saved])
    assert list(results) == [saved, outside]
    assert results[saved].intent is not None and results[saved].intent.label == "alarm_set"
    assert results[outside].intent is None and "Unknown NLU model" in (results[outside].error or "")
    assert loads == [str(Path(saved).resolve())]


# --- item 4: a guest cannot cause training, and loading blocks only its own model -----------------------


def test_a_guest_picking_an_untrained_model_trains_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nlu.registry
    from assistant.memory.db import dispose_engine
    from assistant.pipeline import Pipeline
    from nlu.shipped import CATALOG

    untrained = next(name for name, entry in CATALOG.items() if not entry.shipped)
    trained: list[str] = []

    def no_training(*args: Any, **kwargs: Any) -> Any:
        trained.append(repr(args)[:80])
        raise AssertionError("a turn trained a model")

    monkeypatch.setattr(nlu.registry, "train_product", no_training)
    monkeypatch.setattr(assistant.nlu_models, "train_product", no_training)
    for name in nlu.registry.models.names():
        monkeypatch.setattr(nlu.registry.models.get(name), "fit", no_training)
    cache = tmp_path / "cache"
    settings = make_settings(tmp_path / "data", cache_dir=cache)
    pipe = Pipeline(settings)
    try:
        request = TurnRequest(user="guest", text="what time is it", nlu_override=untrained)
        last = assert_clear_outcome(run_turn(pipe, request))
        assert isinstance(last, ErrorEvent)
        assert f"assistant nlu train --product {untrained}" in last.message, last.message
        assert trained == []
        assert not cache.exists() or list(cache.rglob("*")) == []
        assert len(pipe.runtime.models) == 0
    finally:
        pipe.runtime.close()
        dispose_engine(settings.database_url)


def test_a_slow_load_blocks_only_the_turns_that_need_that_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one guest's model is still loading, another user's turn with the default model completes."""
    from assistant.memory.db import dispose_engine
    from assistant.pipeline import Pipeline

    slow = "tfidf-logreg"
    settings = make_settings(tmp_path / "data")
    assert settings.nlu.model != slow
    started, release = threading.Event(), threading.Event()
    real = assistant.nlu_models.load_intent_model

    def blocking(name: str, settings: Any, load_member: Any = None) -> Any:
        if name == slow:
            started.set()
            release.wait(LOAD_GUARD_S)
        return real(name, settings, load_member)

    monkeypatch.setattr(assistant.nlu_models, "load_intent_model", blocking)
    pipe = Pipeline(settings)
    slow_events: list[Any] = []
    slow_turn = threading.Thread(
        target=lambda: slow_events.extend(
            pipe.run(TurnRequest(user="slow-guest", text="what time is it", nlu_override=slow))
        ),
        daemon=True,
    )
    try:
        slow_turn.start()
        assert started.wait(LOAD_GUARD_S), "the slow model never started loading"
        events = run_turn(pipe, TurnRequest(user="other-user", text="what time is it"), LOAD_GUARD_S)
        other = assert_clear_outcome(events)
        assert isinstance(other, TurnDoneEvent), other
        assert [e.intent.model for e in events if isinstance(e, IntentEvent)] == [settings.nlu.model]
        assert slow_turn.is_alive() and not release.is_set()  # it completed while the load was blocked
    finally:
        release.set()
        slow_turn.join(LOAD_GUARD_S)
    try:
        assert not slow_turn.is_alive()
        assert isinstance(slow_events[-1], TurnDoneEvent), slow_events[-1]
        assert [e.intent.model for e in slow_events if isinstance(e, IntentEvent)] == [slow]
    finally:
        pipe.runtime.close()
        dispose_engine(settings.database_url)


def test_a_failed_load_leaves_no_lock_behind() -> None:
    """Names that fail to load (an untrained product, a damaged folder) do not accumulate in the cache."""
    cache = ModelCache(max_entries=2)
    for i in range(100):
        with pytest.raises(RuntimeError):
            cache.get(("nlu", f"broken-{i}"), lambda: (_ for _ in ()).throw(RuntimeError("damaged")))
    assert len(cache) == 0 and cache._locks == {}
