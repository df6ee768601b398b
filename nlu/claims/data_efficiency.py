"""Claim 4: "LSTMs can generalise better on some tasks / with less data."

Learning curves: test accuracy after training on 5, 10, 25, 50 and 100% of HWU64's train split (stratified,
seeded; the validation split stays whole for early stopping). And the cross-set evaluation (nlu.crossset):
the same models tested on the CLINC150 and SNIPS test utterances whose intent maps to an HWU64 label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nlu.claims.nets import ARCHS
from nlu.claims.runs import Runs, fraction_of, planned_epochs
from nlu.claims.settings import ClaimsSettings
from nlu.claims.stats import Check, Verdict, beats, stat, summaries, verdict

CLAIM = "LSTMs can generalise better on some tasks / with less data."


@dataclass
class DataEfficiencyResult:
    claim: str
    setting: str
    accuracy: dict[str, dict[float, list[float]]]  # arch -> fraction -> HWU64 test accuracy per seed
    n_train: dict[float, int]
    crossset: dict[str, dict[str, list[float]]]  # arch -> source -> accuracy per seed (all of HWU64)
    checks: list[Check] = field(default_factory=list)
    verdict: Verdict | None = None

    def to_dict(self) -> dict:
        return {
            "claim": self.claim,
            "setting": self.setting,
            "accuracy": {a: {str(f): v for f, v in per.items()} for a, per in self.accuracy.items()},
            "accuracy_summary": summaries(self.accuracy),
            "n_train": {str(f): n for f, n in self.n_train.items()},
            "crossset": self.crossset,
            "checks": [c.to_dict() for c in self.checks],
            **(self.verdict.to_dict() if self.verdict else {}),
        }


def judge(
    accuracy: dict[str, dict[float, list[float]]], crossset: dict[str, dict[str, list[float]]]
) -> tuple[list[Check], Verdict]:
    """The claim holds at a fraction (or a cross-set source) when the LSTM is more accurate than the
    Transformer beyond the spread."""
    checks = []
    for fraction in sorted(accuracy["lstm"]):
        lstm, tf = stat(accuracy["lstm"][fraction]), stat(accuracy["transformer"][fraction])
        checks.append(
            Check(
                f"{fraction:.0%} of train",
                beats(lstm, tf, higher_is_better=True),
                f"test accuracy LSTM {lstm.text('.3f')} vs Transformer {tf.text('.3f')}",
            )
        )
    for source in sorted(crossset.get("lstm", {})):
        lstm, tf = stat(crossset["lstm"][source]), stat(crossset["transformer"][source])
        if lstm.n and tf.n:
            checks.append(
                Check(
                    f"cross-set {source}",
                    beats(lstm, tf, higher_is_better=True),
                    f"accuracy on mapped {source} utterances LSTM {lstm.text('.3f')} vs Transformer {tf.text('.3f')}",
                )
            )
    return checks, verdict(checks, "training-set size and test set")


def run_data_efficiency(
    s: ClaimsSettings, runs: Runs, advance: Callable[[], None] = lambda: None
) -> DataEfficiencyResult:
    accuracy: dict[str, dict[float, list[float]]] = {arch: {} for arch in ARCHS}
    cross: dict[str, dict[str, list[float]]] = {arch: {} for arch in ARCHS}
    n_train: dict[float, int] = {}
    for fraction in s.fractions:
        for seed in s.seeds:
            for arch in ARCHS:
                run = runs.get(arch, fraction, seed)
                accuracy[arch].setdefault(fraction, []).append(run.evaluation["accuracy"])
                n_train[fraction] = run.n_train
                if fraction == 1.0:
                    for source, value in run.crossset.items():
                        if value is not None:
                            cross[arch].setdefault(source, []).append(value)
                advance()
    checks, decided = judge(accuracy, cross)
    epochs = {f: planned_epochs(s, len(fraction_of(runs.data, f, 0).train)) for f in s.fractions}
    setting = (
        f"{runs.data.name}: {len(runs.data.labels)} intents; train fractions "
        + ", ".join(f"{f:.0%} ({n_train[f]} examples, ≤{epochs[f]} epochs)" for f in s.fractions)
        + f"; stratified and seeded; whole validation split for early stopping (patience {s.patience}), "
        f"each model's own learning rate and dropout; test split accuracy; {len(s.seeds)} seed(s); device "
        f"{runs.device}. Cross-set: the models trained on all of the train split, tested on the CLINC150 and "
        f"SNIPS test utterances mapped to HWU64 labels (nlu/data/crossset/mapping.tsv, status 'same')"
        + ("" if any(cross[a] for a in ARCHS) else ": not measured (needs ../shared/data)")
        + "."
    )
    return DataEfficiencyResult(CLAIM, setting, accuracy, n_train, cross, checks, decided)


def units(s: ClaimsSettings) -> int:
    return len(s.fractions) * len(s.seeds) * 2
