"""The `assistant nlu` commands, the registry loader the dialog layer calls, the preparation step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import load_settings
from assistant.nlu_models import load_intent_model, prepare_default_model
from nlu.calibrate import FALLBACK, route
from nlu.compare import run_compare
from nlu.data import load_dataset, shared_data_dir, subsample
from nlu.models.base import ModelFolderError
from nlu.plugins import UnknownBackendError

pytestmark = pytest.mark.slow
runner = CliRunner()


def invoke(cache: Path, *args: str):
    result = runner.invoke(app, ["--set", f"cache_dir={cache}", "nlu", *args])
    return result


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`assistant nlu train` on a small HWU64 slice (tf-idf: fast), saved to a folder."""
    cache = tmp_path_factory.mktemp("cache")
    out = tmp_path_factory.mktemp("models") / "tfidf-small"
    result = invoke(
        cache,
        "train",
        "--model",
        "tfidf-logreg",
        "--data",
        "hwu64",
        "--per-intent",
        "15",
        "--option",
        "max_iter=300",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "Saved to" in result.output and (out / "config.json").is_file()
    return out


def test_list_shows_every_model(tmp_path: Path) -> None:
    result = invoke(tmp_path, "list")
    assert result.exit_code == 0, result.output
    for name in ("lstm", "transformer", "minilm", "minilm-frozen", "tfidf-logreg"):
        assert name in result.output


def test_predict_text_and_json_file(saved_model: Path, tmp_path: Path) -> None:
    result = invoke(tmp_path, "predict", "--model", str(saved_model), "wake me up at seven tomorrow")
    assert result.exit_code == 0, result.output
    assert "alarm_set" in result.output

    lines = ["wake me up at seven tomorrow", "", "what's the weather like in paris", "😀😀"]
    utterances = tmp_path / "utterances.txt"
    utterances.write_text("\n".join(lines), encoding="utf-8")
    result = invoke(tmp_path, "predict", "--model", str(saved_model), "--file", str(utterances), "--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [r["text"] for r in rows] == [line for line in lines if line]  # blank lines skipped
    assert {"text", "intent", "confidence", "slots"} <= set(rows[0])
    assert rows[0]["intent"] == "alarm_set" and rows[1]["intent"] == "weather_query"


def test_predict_errors_are_clear(saved_model: Path, tmp_path: Path) -> None:
    result = invoke(tmp_path, "predict", "--model", "no-such-model", "hello")
    assert result.exit_code == 1 and "Unknown NLU model" in result.output and "Traceback" not in result.output
    result = invoke(tmp_path, "predict", "--model", str(saved_model), "  \x00 ")
    assert result.exit_code == 1 and "nothing to classify" in result.output
    result = invoke(tmp_path, "predict", "--model", str(tmp_path), "hello")
    assert result.exit_code == 1 and "no config.json" in result.output
    result = invoke(tmp_path, "train", "--model", "lstm", "--data", "nope")
    assert result.exit_code == 1 and "Unknown dataset" in result.output


def test_compare_writes_table_json_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    args = ["compare", "--models", "tfidf-logreg", "--data", "hwu64", "--seeds", "2", "--per-intent", "8"]
    args += ["--option", "max_iter=200", "--out", str(out)]
    result = invoke(tmp_path, *args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "results.json").read_text())
    assert len(report["runs"]) == 2 and report["summary"][0]["seeds"] == 2
    assert "| hwu64 | tfidf-logreg" in (out / "results.md").read_text()
    assert (out / "accuracy_vs_latency.png").stat().st_size > 1000
    assert (out / "confusions_hwu64.png").is_file()
    # a second run keeps measured runs instead of re-training them
    again = invoke(tmp_path, *args)
    assert again.exit_code == 0 and "already measured" in again.output


def test_compare_runs_chosen_seeds_and_keeps_runs_written_in_parallel(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    base = ["compare", "--models", "tfidf-logreg", "--data", "hwu64", "--per-intent", "8"]
    base += ["--option", "max_iter=200", "--out", str(out)]
    first = invoke(tmp_path, *base, "--seed", "2")
    assert first.exit_code == 0, first.output
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert [r["seed"] for r in runs] == [2]

    def another_process_finishes(line: str) -> None:  # a parallel invocation writes while this one trains
        if "training on" in line:
            on_disk = json.loads((out / "results.json").read_text())["runs"]
            foreign = {**runs[0], "key": f"parallel {len(on_disk)}", "dataset": "snips"}
            (out / "results.json").write_text(json.dumps({"runs": [*on_disk, foreign]}))

    run_compare(
        ["tfidf-logreg"],
        ["hwu64"],
        [0, 1],
        out,
        options={"max_iter": 200},
        per_intent=8,
        log=another_process_finishes,
    )
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert sorted(r["seed"] for r in runs if r["dataset"] == "hwu64") == [0, 1, 2]
    assert sorted(r["key"] for r in runs if r["dataset"] == "snips") == ["parallel 1", "parallel 3"]


def test_load_intent_model_folder_name_and_threshold_override(saved_model: Path, tmp_path: Path) -> None:
    settings = load_settings({"cache_dir": str(tmp_path)})
    model = load_intent_model(str(saved_model), settings)
    assert model.predict(["set an alarm for six am"])[0].label == "alarm_set"
    # a product name loads the shipped weights from the repository, whatever the cache holds
    shipped = load_intent_model("tfidf-logreg", settings)
    assert "oos" in shipped.labels and set(model.labels) < set(shipped.labels)
    override = load_settings({"cache_dir": str(tmp_path), "nlu": {"threshold": 0.99}})
    assert load_intent_model(str(saved_model), override).threshold == 0.99
    assert load_intent_model("tfidf-logreg", override).threshold == 0.99
    with pytest.raises(UnknownBackendError, match="Unknown NLU model"):
        load_intent_model("gpt-17", settings)
    with pytest.raises(ModelFolderError):
        load_intent_model(str(tmp_path), settings)
    step = prepare_default_model(load_settings({"cache_dir": str(tmp_path), "nlu": {"model": "lstm"}}))
    assert step.startswith("lstm: shipped weights verified")
    assert prepare_default_model(
        load_settings({"cache_dir": str(tmp_path), "nlu": {"model": str(saved_model)}})
    ).startswith("using the saved model")


def test_loading_never_trains(tmp_path: Path) -> None:
    """The fine-tuned MiniLM is not shipped: asking for it before training says how, and writes nothing."""
    settings = load_settings({"cache_dir": str(tmp_path)})
    with pytest.raises(ModelFolderError, match="assistant nlu train --product minilm"):
        load_intent_model("minilm", settings)
    with pytest.raises(ModelFolderError, match="assistant nlu train --product minilm"):
        prepare_default_model(load_settings({"cache_dir": str(tmp_path), "nlu": {"model": "minilm"}}))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shared_data_dir() is None, reason="needs ../shared/data (CLINC150)")
def test_threshold_routes_out_of_scope_to_fallback(model_cache: Path) -> None:
    """Trained on 15 CLINC150 intents with the threshold tuned on oos_val, out-of-scope goes to the generator."""
    from nlu.evaluate import evaluate
    from nlu.registry import create

    data = subsample(load_dataset("clinc150"), per_intent=60, intents=15, seed=0)
    model = create("tfidf-logreg", cache_dir=model_cache)
    model.fit(data)
    result = evaluate(model, data, latency_samples=5)
    assert result.oos_recall is not None and result.oos_recall >= 0.5, result
    assert result.in_scope_accuracy is not None and result.in_scope_accuracy >= 0.5, result
    off_topic = model.predict(["how many moons does neptune have"])[0]
    assert route(off_topic, model.threshold) == FALLBACK, off_topic.top()
    in_scope = [ex for ex in data.test if ex.intent != "oos"][0]
    assert route(model.predict([in_scope.text])[0], model.threshold) == in_scope.intent
