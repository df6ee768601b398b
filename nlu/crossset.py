"""Cross-set evaluation (issue 14): a model trained on HWU64 only, tested on the CLINC150 and SNIPS
utterances whose intent means the same request as an HWU64 label.

The mapping is ours, reviewed by hand: `nlu/data/crossset/mapping.tsv` (one row per source intent, with the
accepted HWU64 label(s), a status and a note) and the reasons in `nlu/data/crossset/README.md`. Only rows
with status `same` count by default; `doubtful` rows join with `include_doubtful=True`. Some source intents
accept more than one HWU64 label (CLINC's `calendar_update` adds or removes, HWU64 splits the two).

The utterances are read from the shared data folder at evaluation time (never copied into the repository):
the CLINC150 `test` (or `val`) split and the SNIPS `test` (or `valid`) split. A model may carry an extra
`oos` label (the product models do): predicting it for a mapped utterance counts as wrong.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nlu.data import PACKAGED, DatasetError, load_dataset, shared_data_dir

MAPPING_FILE = PACKAGED / "crossset" / "mapping.tsv"
HWU64_LABELS_FILE = PACKAGED / "hwu64" / "train" / "label"
SOURCES = ("clinc150", "snips")
SPLITS = ("test", "valid")
STATUSES = ("same", "doubtful", "none")
OOS = "oos"
# Column keys under which `assistant nlu compare` stores the per-source accuracies of a run.
RESULT_KEYS = {source: f"crossset_{source}" for source in SOURCES}


@dataclass(frozen=True)
class MappingRow:
    """One source intent and the HWU64 label(s) that mean the same request (empty: none)."""

    source: str
    intent: str
    targets: tuple[str, ...]
    status: str  # same | doubtful | none
    note: str


@dataclass(frozen=True)
class CrossExample:
    source: str
    text: str
    intent: str  # the source dataset's label
    accepted: tuple[str, ...]  # HWU64 labels that count as right


@dataclass(frozen=True)
class IntentScore:
    source: str
    intent: str
    accepted: tuple[str, ...]
    n: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


@dataclass(frozen=True)
class SourceScore:
    source: str
    n: int
    correct: int
    intents: int  # mapped source intents with test utterances

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


@dataclass(frozen=True)
class CrossSetResult:
    """Accuracy of one model on the mapped utterances: per source, overall and per source intent."""

    model: str
    split: str
    include_doubtful: bool
    sources: dict[str, SourceScore]
    intents: list[IntentScore]
    # (source, source intent, predicted HWU64 label, count), most common first
    confusions: list[tuple[str, str, str, int]] = field(default_factory=list)
    oos_predictions: int = 0  # mapped utterances the model sent to its `oos` label (counted wrong)
    # per source, the accuracy of the best HWU64 label with `oos` set aside: the same measure as for a model
    # that has no `oos` class (how well it tells HWU64's intents apart on other sets' wording)
    in_scope: dict[str, float] = field(default_factory=dict)
    missing_labels: list[str] = field(default_factory=list)  # accepted labels the model does not know

    @property
    def n(self) -> int:
        return sum(s.n for s in self.sources.values())

    @property
    def micro(self) -> float:
        """Accuracy over all mapped utterances together."""
        return sum(s.correct for s in self.sources.values()) / self.n if self.n else 0.0

    @property
    def macro(self) -> float:
        """Mean of the per-source accuracies (each source weighs the same)."""
        scores = [s.accuracy for s in self.sources.values() if s.n]
        return sum(scores) / len(scores) if scores else 0.0

    @property
    def macro_in_scope(self) -> float:
        """`macro` with `oos` set aside (equal to `macro` for a model without an `oos` class)."""
        scores = [self.in_scope[name] for name, s in self.sources.items() if s.n and name in self.in_scope]
        return sum(scores) / len(scores) if scores else self.macro

    def accuracy(self, source: str) -> float | None:
        score = self.sources.get(source)
        return score.accuracy if score is not None and score.n else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "split": self.split,
            "include_doubtful": self.include_doubtful,
            "n": self.n,
            "micro": self.micro,
            "macro": self.macro,
            "sources": {
                name: {**asdict(score), "accuracy": score.accuracy} for name, score in self.sources.items()
            },
            "intents": [
                {**asdict(score), "accepted": list(score.accepted), "accuracy": score.accuracy}
                for score in self.intents
            ],
            "confusions": [list(c) for c in self.confusions],
            "oos_predictions": self.oos_predictions,
            "in_scope": self.in_scope,
            "macro_in_scope": self.macro_in_scope,
            "missing_labels": self.missing_labels,
        }

    def compare_fields(self) -> dict[str, Any]:
        """What `assistant nlu compare` stores with a run: one accuracy per source, plus the summary."""
        fields: dict[str, Any] = {key: self.accuracy(source) for source, key in RESULT_KEYS.items()}
        fields["crossset"] = {
            "split": self.split,
            "include_doubtful": self.include_doubtful,
            "n": {name: s.n for name, s in self.sources.items()},
            "micro": self.micro,
            "macro": self.macro,
            "macro_in_scope": self.macro_in_scope,
            "oos_predictions": self.oos_predictions,
            "confusions": [list(c) for c in self.confusions[:15]],
        }
        return fields


def hwu64_labels() -> list[str]:
    """The 64 HWU64 intents (from the packaged copy's training labels)."""
    return sorted(
        {line.strip() for line in HWU64_LABELS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()}
    )


def read_mapping(path: Path = MAPPING_FILE) -> list[MappingRow]:
    """The mapping file: tab-separated source, intent, hwu64 ("|"-separated), status, note; `#` comments."""
    rows: list[MappingRow] = []
    lines = [
        line
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    header, *body = lines
    if header.split("\t") != ["source", "intent", "hwu64", "status", "note"]:
        raise DatasetError(f"{path}: unexpected header {header!r}")
    for number, line in enumerate(body, start=2):
        cells = line.split("\t")
        if len(cells) != 5:
            raise DatasetError(f"{path}: row {number} has {len(cells)} columns, expected 5: {line!r}")
        source, intent, targets, status, note = cells
        parsed = tuple(t for t in targets.split("|") if t)
        if status not in STATUSES or (status == "none") != (not parsed):
            raise DatasetError(f"{path}: row {number} ({intent}): status {status!r} with labels {targets!r}")
        rows.append(MappingRow(source, intent, parsed, status, note))
    return rows


def mapping(
    source: str, include_doubtful: bool = False, path: Path = MAPPING_FILE
) -> dict[str, tuple[str, ...]]:
    """Source intent -> accepted HWU64 labels, for the rows that count."""
    wanted = {"same", "doubtful"} if include_doubtful else {"same"}
    return {
        row.intent: row.targets for row in read_mapping(path) if row.source == source and row.status in wanted
    }


def read_source(source: str, split: str = "test", data_dir: Path | None = None) -> list[tuple[str, str]]:
    """(text, intent) pairs of a source dataset's split, read from the shared data folder."""
    if source not in SOURCES:
        raise ValueError(f"Unknown cross-set source {source!r}; known: {', '.join(SOURCES)}")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}")
    dataset = load_dataset(source, data_dir)  # the benchmark loaders; a missing folder says where to look
    split_examples = dataset.test if split == "test" else dataset.valid
    return [(ex.text, ex.intent) for ex in split_examples]


def available(data_dir: Path | None = None) -> bool:
    """Whether the shared data folder holds both sources."""
    root = shared_data_dir(data_dir)
    return root is not None and all((root / source).is_dir() for source in SOURCES)


def load_crossset(
    split: str = "test",
    data_dir: Path | None = None,
    include_doubtful: bool = False,
    sources: tuple[str, ...] = SOURCES,
) -> list[CrossExample]:
    """The mapped utterances of each source's split, each with the HWU64 labels that count as right."""
    examples = []
    for source in sources:
        table = mapping(source, include_doubtful)
        for text, intent in read_source(source, split, data_dir):
            if intent in table and text:
                examples.append(CrossExample(source, text, intent, table[intent]))
    return examples


def is_hwu64_model(labels: list[str]) -> bool:
    """Whether a model's labels are HWU64's (all of them or a slice), optionally plus `oos`."""
    own = set(labels) - {OOS}
    return bool(own) and own <= set(hwu64_labels())


def evaluate_crossset(
    model: Any,
    examples: list[CrossExample] | None = None,
    *,
    split: str = "test",
    data_dir: Path | None = None,
    include_doubtful: bool = False,
    top_confusions: int = 30,
) -> CrossSetResult:
    """Predict every mapped utterance with `model` (an HWU64 intent model) and score it.

    A prediction is right when it is one of the accepted HWU64 labels; `oos` (or any other label) is wrong.
    """
    labels = list(getattr(model, "labels", []) or [])
    if labels and not is_hwu64_model(labels):
        raise ValueError(
            f"Model {getattr(model, 'name', model)!r} is not an HWU64 model (labels such as "
            f"{', '.join(sorted(set(labels) - set(hwu64_labels()) - {OOS})[:3])}); the cross-set "
            "evaluation needs a model trained on hwu64."
        )
    if examples is None:
        examples = load_crossset(split, data_dir, include_doubtful)
    intents_out = model.predict([ex.text for ex in examples]) if examples else []
    predicted = [intent.label for intent in intents_out]
    best_in_scope = [_best_in_scope(intent) for intent in intents_out]
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    accepted: dict[tuple[str, str], tuple[str, ...]] = {}
    confusions: Counter[tuple[str, str, str]] = Counter()
    for example, label in zip(examples, predicted, strict=True):
        key = (example.source, example.intent)
        accepted[key] = example.accepted
        totals[key][0] += 1
        if label in example.accepted:
            totals[key][1] += 1
        else:
            confusions[(example.source, example.intent, label)] += 1
    intents = [
        IntentScore(source, intent, accepted[(source, intent)], n, correct)
        for (source, intent), (n, correct) in sorted(totals.items())
    ]
    sources = {}
    for source in dict.fromkeys(ex.source for ex in examples):
        mine = [s for s in intents if s.source == source]
        sources[source] = SourceScore(source, sum(s.n for s in mine), sum(s.correct for s in mine), len(mine))
    missing = sorted({t for ex in examples for t in ex.accepted} - set(labels)) if labels else []
    in_scope: dict[str, float] = {}
    if OOS in labels:
        for source in sources:
            pairs = [(ex, b) for ex, b in zip(examples, best_in_scope, strict=True) if ex.source == source]
            in_scope[source] = sum(b in ex.accepted for ex, b in pairs) / len(pairs)
    return CrossSetResult(
        model=str(getattr(model, "name", type(model).__name__)),
        split=split,
        include_doubtful=include_doubtful,
        sources=sources,
        intents=intents,
        confusions=[(s, i, p, n) for (s, i, p), n in confusions.most_common(top_confusions)],
        oos_predictions=sum(1 for label in predicted if label == OOS),
        in_scope=in_scope,
        missing_labels=missing,
    )


def _best_in_scope(intent: Any) -> str:
    """The most probable label other than `oos`."""
    if intent.label != OOS or not intent.distribution:
        return intent.label
    return max((p, label) for label, p in intent.distribution.items() if label != OOS)[1]


def summary_text(result: CrossSetResult, worst: int = 10, confusions: int = 10) -> str:
    """A plain-text report: per-source and overall accuracy, the weakest intents, the top confusions."""
    lines = [f"Cross-set accuracy of {result.model} ({result.split} splits, trained on HWU64 only):"]
    for name, score in result.sources.items():
        lines.append(
            f"  {name:>8} -> hwu64: {score.accuracy * 100:6.2f} %  ({score.correct}/{score.n} utterances, "
            f"{score.intents} intents)"
        )
    lines.append(
        f"  macro over sources: {result.macro * 100:.2f} %, micro: {result.micro * 100:.2f} % (n={result.n})"
    )
    if result.oos_predictions:
        lines.append(f"  predicted oos (wrong): {result.oos_predictions}")
    if result.in_scope:
        lines.append(
            f"  macro with oos set aside (the best HWU64 label): {result.macro_in_scope * 100:.2f} %"
        )
    if result.missing_labels:
        lines.append(f"  labels the model lacks: {', '.join(result.missing_labels)}")
    weakest = sorted(result.intents, key=lambda s: (s.accuracy, -s.n))[:worst]
    if weakest:
        lines.append("Weakest intents:")
        lines += [
            f"  {s.source}:{s.intent} -> {'|'.join(s.accepted)}: {s.accuracy * 100:.1f} % of {s.n}"
            for s in weakest
        ]
    if result.confusions:
        lines.append("Most common confusions:")
        lines += [f"  {s}:{i} -> {p}: {n}" for s, i, p, n in result.confusions[:confusions]]
    return "\n".join(lines)
