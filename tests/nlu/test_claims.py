"""`assistant nlu claims` (issue 16): the verdict rules on hand-made numbers (both ways), the long-input
builder, the parameter matching, each claim on the small setting over a tiny HWU64 slice, and the command."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlu.claims import data_efficiency, latency, long_inputs, long_range, memory, nets, speed
from nlu.claims.runs import Runs, fraction_of, planned_epochs
from nlu.claims.settings import ClaimsSettings
from nlu.claims.stats import CONFIRMED, REFUTED, Check, beats, is_verdict, stat, verdict
from nlu.types import Dataset

SMALL = ClaimsSettings.small()


# --- the verdict rule ------------------------------------------------------------------------------------


def test_stat_and_beats() -> None:
    a, b = stat([1.0, 1.1, 0.9]), stat([2.0, 2.1, 1.9])
    assert a.n == 3 and abs(a.mean - 1.0) < 1e-9 and abs(a.std - 0.1) < 1e-9
    assert stat([5.0]).std == 0.0
    assert beats(a, b, higher_is_better=False) and not beats(b, a, higher_is_better=False)
    assert beats(b, a, higher_is_better=True)
    overlapping = stat([1.0, 3.0])  # mean 2, std 1.41: overlaps b
    assert not beats(overlapping, b, higher_is_better=True) and not beats(b, overlapping, True)
    assert not beats(stat([]), b, True)


def test_verdict_forms() -> None:
    yes, no = Check("a", True, ""), Check("b", False, "")
    assert verdict([yes, yes], "length").verdict == CONFIRMED
    assert verdict([no, no], "length").verdict == REFUTED
    mixed = verdict([yes, no], "sequence length")
    assert mixed.verdict == "depends on sequence length" and "holds at a" in mixed.reason
    for v in (CONFIRMED, REFUTED, mixed.verdict):
        assert is_verdict(v)
    assert not is_verdict("maybe")


def test_speed_rule_both_ways() -> None:
    def epochs(lstm: list[float], tf: list[float]) -> dict:
        return {
            "cpu": {
                "lstm": {16: [lstm[0]] * 3, 1024: [lstm[1]] * 3},
                "transformer": {16: [tf[0]] * 3, 1024: [tf[1]] * 3},
            }
        }

    assert speed.judge(epochs([10, 100], [5, 50]), {}, 0.8)[1].verdict == CONFIRMED
    assert speed.judge(epochs([5, 50], [10, 100]), {}, 0.8)[1].verdict == REFUTED
    assert speed.judge(epochs([10, 50], [5, 100]), {}, 0.8)[1].verdict == "depends on sequence length"
    # time to target: a Transformer that never reaches it does not train faster
    checks, _ = speed.judge(
        epochs([10, 100], [5, 50]), {"lstm": [3.0, 3.1], "transformer": [None, None]}, 0.8
    )
    assert checks[-1].holds is False
    checks, _ = speed.judge(epochs([10, 100], [5, 50]), {"lstm": [None, 9.0], "transformer": [2.0, 2.1]}, 0.8)
    assert checks[-1].holds is True


def test_long_range_rule_judges_the_drop_not_the_level() -> None:
    # the Transformer is better everywhere by the same amount: no long-range advantage
    level = {"lstm": {0: [0.8, 0.8], 64: [0.7, 0.7]}, "transformer": {0: [0.9, 0.9], 64: [0.8, 0.8]}}
    assert long_range.judge(level)[1].verdict == REFUTED
    decay = {"lstm": {0: [0.9, 0.9], 64: [0.5, 0.52]}, "transformer": {0: [0.9, 0.9], 64: [0.88, 0.89]}}
    assert long_range.judge(decay)[1].verdict == CONFIRMED
    # the LSTM loses a little but stays far ahead: not a Transformer advantage
    ahead = {"lstm": {0: [0.9, 0.9], 64: [0.87, 0.87]}, "transformer": {0: [0.55, 0.56], 64: [0.6, 0.61]}}
    assert long_range.judge(ahead)[1].verdict == REFUTED
    mixed = {
        "lstm": {0: [0.9, 0.9], 16: [0.9, 0.9], 64: [0.5, 0.5]},
        "transformer": {0: [0.9, 0.9], 16: [0.9, 0.9], 64: [0.9, 0.9]},
    }
    assert long_range.judge(mixed)[1].verdict == "depends on distance"
    unlearned = {"lstm": {0: [0.9, 0.9], 64: [0.5, 0.5]}, "transformer": {0: [0.1, 0.1], 64: [0.1, 0.1]}}
    decided = long_range.judge(unlearned, chance=1 / 16)[1]
    assert decided.verdict == "depends on training" and "transformer" in decided.reason
    assert is_verdict(decided.verdict)


def test_memory_rule_both_ways() -> None:
    mib = memory.MIB

    def peak(lstm: dict, tf: dict) -> dict:
        return {"cpu": {"train": {"lstm": lstm, "transformer": tf}}}

    assert (
        memory.judge(peak({16: 10 * mib, 1024: 100 * mib}, {16: 20 * mib, 1024: 900 * mib}))[1].verdict
        == CONFIRMED
    )
    assert memory.judge(peak({16: 20 * mib}, {16: 10 * mib}))[1].verdict == REFUTED
    # within the noise: equal, so the claim does not hold there
    assert memory.judge(peak({16: 10 * mib, 1024: 100 * mib}, {16: 10 * mib + 1000, 1024: 900 * mib}))[
        1
    ].verdict.startswith("depends on")


def test_data_efficiency_and_latency_rules_both_ways() -> None:
    better = {
        "lstm": {0.05: [0.6, 0.61], 1.0: [0.9, 0.9]},
        "transformer": {0.05: [0.4, 0.41], 1.0: [0.8, 0.81]},
    }
    assert data_efficiency.judge(better, {})[1].verdict == CONFIRMED
    worse = {"lstm": better["transformer"], "transformer": better["lstm"]}
    assert data_efficiency.judge(worse, {})[1].verdict == REFUTED
    cross = {"lstm": {"snips": [0.5, 0.5]}, "transformer": {"snips": [0.7, 0.7]}}
    assert data_efficiency.judge(better, cross)[1].verdict.startswith("depends on")

    fast = {"lstm": [2.0, 2.1], "transformer": [1.0, 1.1]}
    many = {"lstm": [100.0, 101.0], "transformer": [200.0, 201.0]}
    assert latency.judge(fast, many, {})[1].verdict == CONFIRMED
    assert (
        latency.judge(
            {"lstm": fast["transformer"], "transformer": fast["lstm"]},
            {"lstm": many["transformer"], "transformer": many["lstm"]},
            {},
        )[1].verdict
        == REFUTED
    )


# --- building blocks -------------------------------------------------------------------------------------


def test_embed_puts_the_request_at_the_distance() -> None:
    filler = long_inputs.Filler(["one two three", "four five"], __import__("random").Random(0))
    request = ["wake", "me", "up"]
    tokens, start = long_inputs.embed(request, 20, 5, filler)
    assert len(tokens) == 20 and tokens[start : start + 3] == request and 20 - (start + 3) == 5
    tokens, start = long_inputs.embed(["a"] * 30, 10, 4, filler)  # cut to fit
    assert len(tokens) == 10 and start == 0 and tokens[:6] == ["a"] * 6
    with pytest.raises(ValueError):
        long_inputs.embed(request, 10, 10, filler)


def test_long_task_keeps_filler_out_of_the_labels(tiny_hwu: Dataset) -> None:
    labels, filler = long_inputs.split_scenarios(tiny_hwu.labels)
    assert labels and filler and not set(labels) & set(filler)
    assert {long_inputs.scenario(lb) for lb in labels}.isdisjoint({long_inputs.scenario(lb) for lb in filler})
    task = long_inputs.long_task(tiny_hwu, 24, (0, 8, 16), 8, 5, None, seed=0)
    assert set(task.labels) == set(labels)
    assert all(len(ex.tokens) == 24 for ex in task.train + task.valid + task.test)
    assert {ex.distance for ex in task.test} == {0, 8, 16}
    for ex in task.test:
        assert ex.start + 8 >= 24 - ex.distance - 8  # the request ends `distance` words before the end


def test_parameter_counts_are_matched() -> None:
    for s in (ClaimsSettings.default(), SMALL):
        match = nets.matching(s)
        assert 0.9 <= match.ratio <= 1.1, match.text()
        assert str(match.lstm) in match.text().replace(",", "")


def test_fractions_and_epochs(tiny_hwu: Dataset) -> None:
    half = fraction_of(tiny_hwu, 0.5, seed=0)
    assert len(half.train) == len(tiny_hwu.train) // 2 and half.labels == tiny_hwu.labels
    assert half.valid == tiny_hwu.valid and fraction_of(tiny_hwu, 1.0, 0) is tiny_hwu
    s = ClaimsSettings.default()
    assert planned_epochs(s, 7000) == s.epochs and planned_epochs(s, 300) == s.max_epochs
    with pytest.raises(ValueError):
        fraction_of(tiny_hwu, 0.0, 0)


def test_settings() -> None:
    assert ClaimsSettings.named("default") == ClaimsSettings.default()
    assert ClaimsSettings.small().with_seeds(2).seeds == (0, 1)
    assert len(ClaimsSettings.full().seeds) > len(ClaimsSettings.default().seeds)
    with pytest.raises(ValueError):
        ClaimsSettings.named("huge")


# --- each claim on the small setting -------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tiny_hwu: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(SMALL, tiny_hwu, "cpu", tmp_path_factory.mktemp("claims-cache"), [], log=lambda _: None)


def _shaped(result: object) -> None:
    assert is_verdict(result.verdict.verdict)  # type: ignore[attr-defined]
    assert result.setting and result.checks  # type: ignore[attr-defined]
    json.dumps(result.to_dict())  # type: ignore[attr-defined]


def test_claim4_learning_curve(runs: Runs) -> None:
    result = data_efficiency.run_data_efficiency(SMALL, runs)
    assert set(result.accuracy) == set(nets.ARCHS)
    for arch in nets.ARCHS:
        assert set(result.accuracy[arch]) == set(SMALL.fractions)
        assert all(0 <= a <= 1 for values in result.accuracy[arch].values() for a in values)
    assert result.n_train[0.5] < result.n_train[1.0]
    _shaped(result)


def test_claim1_speed(runs: Runs, tiny_hwu: Dataset) -> None:
    result = speed.run_speed(SMALL, tiny_hwu, runs)
    assert list(result.epoch_seconds) == ["cpu"]
    for arch in nets.ARCHS:
        assert set(result.epoch_seconds["cpu"][arch]) == set(SMALL.lengths)
        assert all(v > 0 for values in result.epoch_seconds["cpu"][arch].values() for v in values)
        assert len(result.time_to_target[arch]) == len(SMALL.seeds)
    assert len(result.checks) == len(SMALL.lengths) + 1
    _shaped(result)


def test_claim2_long_range(tiny_hwu: Dataset) -> None:
    result = long_range.run_long_range(SMALL, tiny_hwu)
    for arch in nets.ARCHS:
        assert set(result.accuracy[arch]) == set(SMALL.distances)
        assert all(len(v) == len(SMALL.seeds) and 0 <= v[0] <= 1 for v in result.accuracy[arch].values())
    assert len(result.checks) == len(SMALL.distances) - 1
    _shaped(result)


def test_claim3_memory_grows_with_length() -> None:
    s = replace(SMALL, lengths=(16, 256), memory_batch=4)
    result = memory.run_memory(s, vocab=500, labels=8, modes=("train",))  # inference: the command's test
    train = result.peak["cpu"]["train"]
    for arch in nets.ARCHS:
        assert train[arch][256] > train[arch][16] > 0
    assert result.attention_bytes[256] == 16**2 * result.attention_bytes[16]
    _shaped(result)


def test_claim5_latency(runs: Runs, tiny_hwu: Dataset) -> None:
    result = latency.run_latency(SMALL, tiny_hwu, runs, repeats=3)
    for arch in nets.ARCHS:
        assert result.p50_ms[arch][0] > 0 and result.throughput[arch][0] > 0
        assert set(result.forward_ms[arch]) == set(SMALL.lengths)
    _shaped(result)


# --- the command -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_command_small_writes_the_report(tmp_path: Path) -> None:
    from assistant.cli import app

    out = tmp_path / "claims"
    result = CliRunner().invoke(
        app,
        [
            "--set",
            f"cache_dir={tmp_path / 'cache'}",
            "nlu",
            "claims",
            "--small",
            "--device",
            "cpu",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "claims.json").read_text(encoding="utf-8"))
    assert set(report["claims"]) == {"speed", "long_range", "memory", "data_efficiency", "latency"}
    assert all(is_verdict(claim["verdict"]) for claim in report["claims"].values())
    assert report["meta"]["device"] == "cpu" and report["meta"]["matching"]["ratio"] > 0.9
    text = (out / "claims.md").read_text(encoding="utf-8")
    for title in ("Training speed", "Long-range", "Memory", "less data", "Latency"):
        assert title in text
    for png in ("speed", "long_range", "memory", "data_efficiency", "latency"):
        assert (out / f"{png}.png").stat().st_size > 1000


def test_command_rejects_bad_options(tmp_path: Path) -> None:
    from assistant.cli import app

    runner = CliRunner()
    both = runner.invoke(app, ["--set", f"cache_dir={tmp_path}", "nlu", "claims", "--small", "--full"])
    assert both.exit_code != 0 and "not both" in both.output
    device = runner.invoke(
        app, ["--set", f"cache_dir={tmp_path}", "nlu", "claims", "--small", "--device", "tpu"]
    )
    assert device.exit_code != 0 and "Unknown device" in device.output
