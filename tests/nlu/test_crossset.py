"""Cross-set evaluation (issue 14): the CLINC150/SNIPS -> HWU64 mapping, the scores, and where they are
reported (`assistant nlu crossset`, `assistant nlu compare`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlu import crossset
from nlu.crossset import CrossExample, evaluate_crossset, hwu64_labels, load_crossset, read_mapping
from nlu.data import load_dataset, shared_data_dir
from nlu.types import Dataset, Intent

needs_shared = pytest.mark.skipif(
    not crossset.available(), reason="CLINC150 and SNIPS need the shared data folder (../shared/data)"
)
# HWU64 intents that mapped CLINC150 / SNIPS utterances land on: a small model over them scores cross-set
MAPPED_HWU = [
    "alarm_set",
    "weather_query",
    "play_music",
    "qa_definition",
    "general_joke",
    "transport_taxi",
    "qa_currency",
    "recommendation_movies",
]


def test_mapping_labels_are_hwu64_labels() -> None:
    rows = read_mapping()
    hwu = set(hwu64_labels())
    assert len(hwu) == 64
    for row in rows:
        assert set(row.targets) <= hwu, row
        assert row.status in crossset.STATUSES and (row.status == "none") == (not row.targets), row
        assert row.note, row
    keys = [(row.source, row.intent) for row in rows]
    assert len(keys) == len(set(keys)), "an intent is mapped twice"
    same = [row for row in rows if row.status == "same"]
    assert {row.source for row in same} == set(crossset.SOURCES)
    assert crossset.mapping("snips")["GetWeather"] == ("weather_query",)
    assert crossset.mapping("clinc150")["calendar_update"] == ("calendar_set", "calendar_remove")
    assert "timer" not in crossset.mapping("clinc150")
    assert crossset.mapping("clinc150", include_doubtful=True)["timer"] == ("alarm_set",)


def test_readme_explains_every_mapped_pair() -> None:
    readme = (crossset.MAPPING_FILE.parent / "README.md").read_text(encoding="utf-8")
    for row in read_mapping():
        if row.status != "none":
            assert f"| {row.source} | `{row.intent}` |" in readme, row.intent


@needs_shared
def test_mapping_covers_every_real_source_intent() -> None:
    root = shared_data_dir()
    raw = json.loads((root / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    clinc = {label for _, label in raw["train"]}
    snips = set((root / "snips" / "train" / "label").read_text(encoding="utf-8").split())
    rows = read_mapping()
    assert {r.intent for r in rows if r.source == "clinc150"} == clinc and len(clinc) == 150
    assert {r.intent for r in rows if r.source == "snips"} == snips and len(snips) == 7


@needs_shared
def test_load_crossset_sizes() -> None:
    test = load_crossset("test")
    by_source = {s: [e for e in test if e.source == s] for s in crossset.SOURCES}
    assert len(by_source["clinc150"]) == 30 * len(crossset.mapping("clinc150"))  # 30 test lines per intent
    assert {e.intent for e in by_source["snips"]} == {"GetWeather", "PlayMusic", "SearchScreeningEvent"}
    assert all(e.text and e.accepted for e in test)
    valid = load_crossset("valid")
    assert len([e for e in valid if e.source == "clinc150"]) == 20 * len(crossset.mapping("clinc150"))
    assert len(load_crossset("test", include_doubtful=True)) > len(test)
    with pytest.raises(ValueError, match="split"):
        load_crossset("train")


@dataclass
class ScriptedModel:
    """Predicts from a fixed text -> label table (no training): exact scores are known."""

    answers: dict[str, str]
    labels: list[str]
    name: str = "scripted"

    def predict(self, texts: list[str]) -> list[Intent]:
        return [Intent(self.answers[t], 1.0) for t in texts]


def test_scores_oos_multi_label_macro_and_micro() -> None:
    examples = [
        CrossExample("clinc150", "wake me at 6", "alarm", ("alarm_set",)),
        CrossExample("clinc150", "wake me at 7", "alarm", ("alarm_set",)),
        CrossExample(
            "clinc150", "drop lunch from my calendar", "calendar_update", ("calendar_set", "calendar_remove")
        ),
        CrossExample("clinc150", "what is up", "calendar_update", ("calendar_set", "calendar_remove")),
        CrossExample("snips", "rain tomorrow?", "GetWeather", ("weather_query",)),
    ]
    model = ScriptedModel(
        {
            "wake me at 6": "alarm_set",
            "wake me at 7": "oos",  # the product's out-of-scope class counts as wrong
            "drop lunch from my calendar": "calendar_remove",  # either accepted label is right
            "what is up": "general_quirky",
            "rain tomorrow?": "weather_query",
        },
        ["alarm_set", "calendar_remove", "calendar_set", "general_quirky", "weather_query", "oos"],
    )
    result = evaluate_crossset(model, examples)
    assert result.accuracy("clinc150") == 0.5 and result.accuracy("snips") == 1.0
    assert result.macro == 0.75 and result.micro == 3 / 5 and result.n == 5
    assert result.oos_predictions == 1 and result.missing_labels == []
    assert {(s.intent, s.n, s.correct) for s in result.intents} == {
        ("alarm", 2, 1),
        ("calendar_update", 2, 1),
        ("GetWeather", 1, 1),
    }
    assert sorted(result.confusions) == [
        ("clinc150", "alarm", "oos", 1),
        ("clinc150", "calendar_update", "general_quirky", 1),
    ]
    data = result.to_dict()
    json.dumps(data)  # serialisable
    assert data["sources"]["clinc150"]["accuracy"] == 0.5 and data["macro"] == 0.75
    fields = result.compare_fields()
    assert fields["crossset_clinc150"] == 0.5 and fields["crossset_snips"] == 1.0
    assert "clinc150 -> hwu64:  50.00 %" in crossset.summary_text(result)


def test_a_model_of_another_label_set_is_refused() -> None:
    model = ScriptedModel({}, ["GetWeather", "PlayMusic"])
    with pytest.raises(ValueError, match="not an HWU64 model"):
        evaluate_crossset(model, [])


@pytest.fixture(scope="module")
def mapped_slice() -> Dataset:
    """HWU64 restricted to 8 intents that mapped utterances land on (all their training lines)."""
    hwu = load_dataset("hwu64")

    def keep(split):
        return [ex for ex in split if ex.intent in MAPPED_HWU]

    return Dataset("hwu64", keep(hwu.train), keep(hwu.valid), keep(hwu.test))


@pytest.fixture(scope="module")
def small_tfidf(mapped_slice: Dataset, tmp_path_factory: pytest.TempPathFactory):
    from nlu.registry import create

    model = create("tfidf-logreg", C=10.0, max_iter=300)
    model.fit(mapped_slice)
    folder = tmp_path_factory.mktemp("models") / "tfidf-mapped"
    model.save(folder)
    return model, folder


@pytest.mark.slow
@needs_shared
def test_small_model_scores_sanely(small_tfidf) -> None:
    model, _ = small_tfidf
    examples = [e for e in load_crossset("test") if set(e.accepted) & set(model.labels)]
    result = evaluate_crossset(model, examples, top_confusions=10_000)
    assert set(result.sources) == {"clinc150", "snips"}
    assert sum(s.n for s in result.sources.values()) == len(examples) == result.n
    for source in result.sources.values():
        assert source.n == sum(i.n for i in result.intents if i.source == source.source)
    wrong = sum(count for *_, count in result.confusions)
    assert wrong == result.n - round(result.micro * result.n)
    # 8 intents: chance is 12.5 %; HWU64 training transfers to these plain requests
    assert result.micro > 0.5, crossset.summary_text(result)
    assert min(result.accuracy("clinc150"), result.accuracy("snips")) > 0.3
    # over the whole mapped set, the labels the model never learnt are named
    full = evaluate_crossset(model)
    assert "calendar_query" in full.missing_labels and full.micro < result.micro


@pytest.mark.slow
@needs_shared
def test_crossset_command_text_and_json(small_tfidf, tmp_path: Path) -> None:
    from assistant.cli import app

    _, folder = small_tfidf
    runner = CliRunner()
    base = ["--set", f"cache_dir={tmp_path}", "nlu", "crossset", "--model", str(folder)]
    result = runner.invoke(app, [*base, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["sources"]) == {"clinc150", "snips"} and 0 < data["macro"] <= 1
    assert data["n"] == len(load_crossset("test"))
    text = runner.invoke(app, base)
    assert text.exit_code == 0, text.output
    assert "clinc150 → hwu64" in text.output and "Weakest intents" in text.output
    bad = runner.invoke(app, [*base[:-1], str(tmp_path)])
    assert bad.exit_code == 1 and "Traceback" not in bad.output


@pytest.mark.slow
@needs_shared
def test_compare_reports_crossset_columns_and_reads_older_runs(tmp_path: Path) -> None:
    from nlu.compare import markdown, run_compare, summarize

    out = tmp_path / "reports"
    report = run_compare(
        ["tfidf-logreg"], ["hwu64"], 1, out, options={"max_iter": 200}, per_intent=8, log=lambda _: None
    )
    (run,) = report["runs"]
    assert 0 < run["crossset_clinc150"] <= 1 and 0 < run["crossset_snips"] <= 1
    assert run["crossset"]["n"] == {"clinc150": 960, "snips": 297}
    row = report["summary"][0]
    assert row["crossset_clinc150"] == run["crossset_clinc150"]
    text = (out / "results.md").read_text(encoding="utf-8")
    assert "CLINC→HWU64 %" in text and "SNIPS→HWU64 %" in text
    assert f"{run['crossset_clinc150'] * 100:.2f}" in text

    # a run stored before cross-set scores existed still loads, with "–" in those columns
    older = {k: v for k, v in run.items() if not k.startswith("crossset")}
    older["key"] = "older run"
    older["seed"] = 1
    older["config"] = {**run["config"], "C": 1.0}  # another setting: its own table row
    rows = summarize([run, older])
    (old_row,) = [r for r in rows if r["options"].get("C") == 1.0]
    assert old_row["crossset_clinc150"] is None and old_row["crossset_snips"] is None
    line = next(line for line in markdown(rows).splitlines() if "C=1.0" in line)
    assert line.count("| – |") >= 2
