"""Loaders for the five benchmark datasets, all returned as one `Dataset` type.

HWU64 is packaged in `nlu/data/hwu64` (the product's own label set); the others are read from the shared
data folder (`settings.nlu.data_dir`, else `../shared/data` next to the repository). ATIS is never copied
into the project: it has no open license and is for benchmarking only.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from pathlib import Path

from nlu.types import Dataset, Example

DATASETS = ("hwu64", "clinc150", "snips", "atis", "banking77")
PACKAGED = Path(__file__).resolve().parent / "data"
# The product's own training set: HWU64's 64 intents plus an `oos` class (open questions and chat that the
# dialog generator answers), from nlu/data/oos. Benchmarks keep using plain "hwu64".
PRODUCT_DATASET = "assistant"
OOS_LABEL = "oos"
# open questions and chat (ours + CLINC150's oos), and CLINC150 requests no HWU64 intent covers
OOS_FOLDERS = ("oos", "oos-clinc")
VALID_FRACTION = 0.1


class DatasetError(ValueError):
    """A dataset cannot be found or read; the message says where it looked."""


def shared_data_dir(explicit: Path | None = None) -> Path | None:
    """The shared data folder: an explicit one, else `../shared/data` beside the repository."""
    candidates = [explicit] if explicit else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for folder in candidates:
        if folder is not None and Path(folder).expanduser().is_dir():
            return Path(folder).expanduser()
    return None


def load_dataset(name_or_dir: str, data_dir: Path | None = None, seed: int = 0) -> Dataset:
    """A dataset by name (see DATASETS, or PRODUCT_DATASET) or a folder with {train,valid,test}/{seq.in,label[,seq.out]}."""
    folder = Path(name_or_dir).expanduser()
    if name_or_dir == PRODUCT_DATASET:
        return product_dataset(seed)
    if name_or_dir not in DATASETS and (folder / "train" / "seq.in").is_file():
        return _load_seq_folder(folder.name, folder, seed)
    if name_or_dir == "hwu64" and (PACKAGED / "hwu64" / "train" / "seq.in").is_file():
        return _load_seq_folder("hwu64", PACKAGED / "hwu64", seed)
    if name_or_dir not in DATASETS:
        raise DatasetError(
            f"Unknown dataset {name_or_dir!r}. Known: {', '.join((*DATASETS, PRODUCT_DATASET))}, or a folder with "
            "train/seq.in and train/label."
        )
    root = shared_data_dir(data_dir)
    if root is None or not (root / name_or_dir).is_dir():
        raise DatasetError(
            f"Dataset {name_or_dir!r} needs the shared data folder (../shared/data); set nlu.data_dir "
            "(ASSISTANT_NLU__DATA_DIR) to the folder that holds it."
        )
    loader = {"clinc150": _load_clinc150, "banking77": _load_banking77}.get(name_or_dir)
    if loader is not None:
        return loader(root / name_or_dir, seed)
    return _load_seq_folder(name_or_dir, root / name_or_dir, seed)


def product_dataset(seed: int = 0) -> Dataset:
    """HWU64 plus the out-of-scope class: `oos` is a label like any other (not a threshold), so an open
    question, or a request no skill serves, has somewhere to go. The test split is HWU64's; open questions are evaluated on held-out
    sets (tests/natural/) and CLINC150's oos test."""
    hwu = _load_seq_folder("hwu64", PACKAGED / "hwu64", seed)
    train, valid = list(hwu.train), list(hwu.valid)
    for folder in OOS_FOLDERS:
        oos = _load_seq_folder(folder, PACKAGED / folder, seed)
        if {ex.intent for ex in oos.train + oos.valid} != {OOS_LABEL}:
            raise DatasetError(f"{PACKAGED / folder}: every line must be labelled {OOS_LABEL!r}")
        train += oos.train
        valid += oos.valid
    return Dataset(PRODUCT_DATASET, train, valid, hwu.test)


def _read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _load_split(folder: Path) -> list[Example]:
    texts = _read_lines(folder / "seq.in")
    labels = [line.strip() for line in _read_lines(folder / "label")]
    if len(texts) != len(labels):
        raise DatasetError(f"{folder}: seq.in has {len(texts)} lines but label has {len(labels)}")
    tag_file = folder / "seq.out"
    tags: list[tuple[str, ...] | None] = [None] * len(texts)
    if tag_file.is_file():
        tags = [tuple(line.split()) for line in _read_lines(tag_file)]
    examples = []
    for text, label, tag in zip(texts, labels, tags, strict=True):
        words = text.split()
        if tag is not None and len(tag) != len(words):
            raise DatasetError(f"{folder}: {len(words)} words but {len(tag)} tags in {text!r}")
        examples.append(Example(" ".join(words), label, tag))
    return examples


def _load_seq_folder(name: str, folder: Path, seed: int) -> Dataset:
    if not (folder / "train" / "seq.in").is_file():
        raise DatasetError(f"{folder} has no train/seq.in")
    train = _load_split(folder / "train")
    test = _load_split(folder / "test") if (folder / "test").is_dir() else []
    if (folder / "valid").is_dir():
        valid = _load_split(folder / "valid")
    else:
        train, valid = split_validation(train, seed)
    return Dataset(name, train, valid, test)


def _load_clinc150(folder: Path, seed: int) -> Dataset:
    """In-scope train only; oos_val / oos_test join valid / test with label 'oos' (threshold setting)."""
    raw = json.loads((folder / "data_full.json").read_text(encoding="utf-8"))

    def examples(*keys: str) -> list[Example]:
        return [Example(" ".join(text.split()), label) for key in keys for text, label in raw[key]]

    return Dataset(
        "clinc150", examples("train"), examples("val", "oos_val"), examples("test", "oos_test"), "oos"
    )


def clinc_oos_test(data_dir: Path | None = None) -> list[str]:
    """CLINC150's 1,000 out-of-scope test queries (open questions for the routing checks), or [] without
    the shared data folder."""
    root = shared_data_dir(data_dir)
    path = root / "clinc150" / "data_full.json" if root else None
    if path is None or not path.is_file():
        return []
    return [text for text, _ in json.loads(path.read_text(encoding="utf-8"))["oos_test"]]


def _load_banking77(folder: Path, seed: int) -> Dataset:
    def read(path: Path) -> list[Example]:
        with path.open(encoding="utf-8", newline="") as handle:
            return [Example(" ".join(row["text"].split()), row["category"]) for row in csv.DictReader(handle)]

    train, valid = split_validation(read(folder / "train.csv"), seed)
    return Dataset("banking77", train, valid, read(folder / "test.csv"))


def split_validation(
    examples: list[Example], seed: int, fraction: float = VALID_FRACTION
) -> tuple[list[Example], list[Example]]:
    """A seeded, stratified validation split (for datasets that ship none)."""
    by_label: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.intent].append(example)
    rng = random.Random(seed)
    train, valid = [], []
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        cut = max(1, round(len(items) * fraction)) if len(items) > 1 else 0
        valid.extend(items[:cut])
        train.extend(items[cut:])
    return train, valid


def subsample(dataset: Dataset, per_intent: int, seed: int = 0, intents: int | None = None) -> Dataset:
    """A small slice for tests and quick runs: at most `per_intent` train examples for `intents` labels."""
    rng = random.Random(seed)
    labels = dataset.labels[:intents] if intents else dataset.labels
    keep = set(labels)
    if dataset.oos_label:
        keep.add(dataset.oos_label)

    def take(split: list[Example], n: int) -> list[Example]:
        by_label: dict[str, list[Example]] = defaultdict(list)
        for example in split:
            if example.intent in keep:
                by_label[example.intent].append(example)
        out = []
        for label in sorted(by_label):
            items = by_label[label][:]
            rng.shuffle(items)
            out.extend(items[:n])
        return out

    return Dataset(
        dataset.name,
        take(dataset.train, per_intent),
        take(dataset.valid, max(2, per_intent // 3)),
        take(dataset.test, max(2, per_intent // 3)),
        dataset.oos_label,
    )
