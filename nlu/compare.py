"""`assistant nlu compare`: train every model on every dataset for each seed, evaluate on the test split,
and write the table (Markdown + JSON) and plots into a reports folder.

Runs are appended to `results.json` as they finish, so an interrupted comparison resumes where it stopped
and several invocations (say, the LSTM on all datasets today, MiniLM on two tomorrow) make one table.

A model trained on HWU64 is also scored cross-set (nlu.crossset): on the CLINC150 and SNIPS test utterances
whose intent maps to an HWU64 label. Runs stored before that was measured show "–" in those columns.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nlu import crossset
from nlu.data import load_dataset, subsample
from nlu.evaluate import evaluate

COLUMNS = [
    ("accuracy", "Acc %", 100),
    ("macro_f1", "Macro-F1 %", 100),
    ("slot_f1", "Slot F1 %", 100),
    ("in_scope_accuracy", "In-scope %", 100),
    ("oos_recall", "OOS recall %", 100),
    (crossset.RESULT_KEYS["clinc150"], "CLINC→HWU64 %", 100),
    (crossset.RESULT_KEYS["snips"], "SNIPS→HWU64 %", 100),
    ("latency_p50_ms", "p50 ms", 1),
    ("latency_p95_ms", "p95 ms", 1),
    ("throughput", "utt/s", 1),
    ("parameters", "Params", 1),
    ("train_seconds", "Train s", 1),
]


def run_key(model: str, dataset: str, config: dict, per_intent: int | None) -> str:
    """A run is identified by everything that shaped it: the model's whole configuration (its defaults
    merged with the options given, seed included), so a run trained under older defaults is never taken
    for one under the current defaults."""
    return json.dumps([model, dataset, sorted(config.items()), per_intent])


def shown_options(run: dict) -> dict:
    """The settings that set a run apart from its model's current defaults (seed aside): its table label."""
    from nlu.plugins import UnknownBackendError
    from nlu.registry import models as registry

    config = run.get("config")
    if config is None:  # written before runs recorded their configuration
        return dict(run.get("options", {}))
    try:
        defaults = registry.get(run["model"]).defaults
    except UnknownBackendError:  # a model no longer registered: show everything it was given
        return dict(run.get("options", {}))
    # an option added since the run was recorded shows as "unrecorded"
    return {
        k: config.get(k, "unrecorded")
        for k in {**defaults, **config}
        if k != "seed" and defaults.get(k) != config.get(k, "unrecorded")
    }


def run_compare(
    models: list[str],
    datasets: list[str],
    seeds: int | list[int],
    out_dir: Path,
    *,
    device: str = "cpu",
    cache_dir: Path | None = None,
    data_dir: Path | None = None,
    options: dict[str, Any] | None = None,
    per_intent: int | None = None,
    fresh: bool = False,
    log: Callable[[str], None] = print,
) -> dict:
    """Train and evaluate each (model, dataset, seed) not already in out_dir/results.json; write reports.

    `seeds` is a count (seeds 0..N-1) or the seeds themselves. Each finished run is merged into what is on
    disk then, so parallel invocations (say, one seed each) writing to one folder keep each other's runs.
    """
    from nlu.registry import create
    from nlu.registry import models as registry

    for name in models:
        registry.get(name)  # fail early on unknown names
    options = options or {}
    out_dir.mkdir(parents=True, exist_ok=True)
    results_file = out_dir / "results.json"
    runs: list[dict] = [] if fresh else read_runs(results_file)
    done = {run["key"] for run in runs}
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    cross_examples: list[crossset.CrossExample] | None = None  # loaded once, for the first HWU64 model
    for dataset_name in datasets:
        for seed in seed_list:
            dataset = None
            for name in models:
                cls = registry.get(name)
                own = {k: v for k, v in options.items() if k in cls.defaults}
                config = {**cls.defaults, **own, "seed": seed}
                key = run_key(name, dataset_name, config, per_intent)
                if key in done:
                    log(f"{name} on {dataset_name} (seed {seed}): already measured, kept")
                    continue
                if dataset is None:
                    dataset = load_dataset(dataset_name, data_dir, seed=seed)
                    if per_intent:
                        dataset = subsample(dataset, per_intent, seed)
                log(f"{name} on {dataset_name} (seed {seed}): training on {len(dataset.train)} examples")
                model = create(name, device=device, cache_dir=cache_dir, **config)  # exactly what is keyed
                started = time.perf_counter()
                history = model.fit(dataset)
                train_seconds = time.perf_counter() - started
                result = evaluate(model, dataset).to_dict()
                if crossset.is_hwu64_model(model.labels):
                    if cross_examples is None:
                        cross_examples = _cross_examples(data_dir, log)
                    if cross_examples:
                        result.update(crossset.evaluate_crossset(model, cross_examples).compare_fields())
                result.update(
                    key=key,
                    seed=seed,
                    options=own,
                    config=config,
                    per_intent=per_intent,
                    train_seconds=train_seconds,
                    best_epoch=history.get("best_epoch"),
                    temperature=model.temperature,
                    device=device,
                )
                runs = [r for r in runs if r["key"] != key] + [result]
                if not fresh:  # fresh: the file still holds the forgotten runs until the first write
                    runs = with_runs_on_disk(runs, results_file)
                log(
                    f"  accuracy {result['accuracy']:.4f}"
                    + (f", slot F1 {result['slot_f1']:.4f}" if result["slot_f1"] is not None else "")
                    + (
                        f", in-scope {result['in_scope_accuracy']:.4f}, OOS recall {result['oos_recall']:.4f}"
                        if result["oos_recall"] is not None
                        else ""
                    )
                    + (
                        f", cross-set CLINC {result['crossset_clinc150']:.4f}, SNIPS {result['crossset_snips']:.4f}"
                        if result.get("crossset_clinc150") is not None
                        else ""
                    )
                    + f", p50 {result['latency_p50_ms']:.2f} ms, {result['throughput']:.0f} utt/s, {train_seconds:.0f} s"
                )
                write_reports(runs, out_dir)
    return write_reports(runs if fresh else with_runs_on_disk(runs, results_file), out_dir)


def _cross_examples(data_dir: Path | None, log: Callable[[str], None]) -> list[crossset.CrossExample]:
    """The mapped CLINC150 / SNIPS test utterances, or none (logged) without the shared data folder."""
    if not crossset.available(data_dir):
        log("cross-set evaluation skipped: CLINC150 and SNIPS need the shared data folder (../shared/data)")
        return []
    return crossset.load_crossset("test", data_dir)


def read_runs(results_file: Path) -> list[dict]:
    if not results_file.is_file():
        return []
    return json.loads(results_file.read_text(encoding="utf-8")).get("runs", [])


def with_runs_on_disk(runs: list[dict], results_file: Path) -> list[dict]:
    """`runs` plus the runs other invocations (parallel processes) have written to the file since."""
    ours = {run["key"] for run in runs}
    return runs + [run for run in read_runs(results_file) if run["key"] not in ours]


def summarize(runs: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds for each (model, dataset, options, slice)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        groups[
            (
                run["model"],
                run["dataset"],
                json.dumps(shown_options(run), sort_keys=True),
                run.get("per_intent"),
            )
        ].append(run)
    rows = []
    for (model, dataset, options, per_intent), items in sorted(groups.items()):
        row: dict[str, Any] = {
            "model": model,
            "dataset": dataset,
            "seeds": len(items),
            "options": json.loads(options),
            "per_intent": per_intent,
        }
        for key, _, _ in COLUMNS:
            values = [r[key] for r in items if r.get(key) is not None]
            row[key] = float(np.mean(values)) if values else None
            # sample standard deviation (ddof=1): with two or three seeds the population formula flatters
            row[f"{key}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def _cell(row: dict, key: str, scale: float) -> str:
    value = row.get(key)
    if value is None:
        return "–"
    if key == "parameters":
        return f"{value / 1e6:.2f}M"
    digits = (
        2
        if key.startswith("latency")
        else (0 if key in ("throughput", "train_seconds") else 1 if scale == 1 else 2)
    )
    text = f"{value * scale:.{digits}f}"
    if row["seeds"] > 1 and row.get(f"{key}_std"):
        text += f" ± {row[f'{key}_std'] * scale:.{digits}f}"
    return text


def _label(row: dict) -> str:
    label = row["model"]
    if row["options"]:
        label += " (" + ", ".join(f"{k}={v}" for k, v in sorted(row["options"].items())) + ")"
    if row["per_intent"]:
        label += f" [≤{row['per_intent']}/intent]"
    return label


def markdown(rows: list[dict]) -> str:
    header = ["Dataset", "Model", "Seeds", *(title for _, title, _ in COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in sorted(rows, key=lambda r: (r["dataset"], r["model"])):
        cells = [row["dataset"], _label(row), str(row["seeds"]), *(_cell(row, k, s) for k, _, s in COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def rich_table(rows: list[dict]):
    from rich.table import Table

    table = Table(title="NLU comparison (test splits)")
    for title in ["Dataset", "Model", "Seeds", *(t for _, t, _ in COLUMNS)]:
        table.add_column(title, justify="left" if title in ("Dataset", "Model") else "right")
    for row in sorted(rows, key=lambda r: (r["dataset"], r["model"])):
        table.add_row(
            row["dataset"], _label(row), str(row["seeds"]), *(_cell(row, k, s) for k, _, s in COLUMNS)
        )
    return table


def write_reports(runs: list[dict], out_dir: Path) -> dict:
    rows = summarize(runs)
    report = {"runs": runs, "summary": rows}
    tmp = out_dir / f"results.json.{os.getpid()}.tmp"  # parallel invocations never share a temp file
    tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
    tmp.replace(out_dir / "results.json")
    text = (
        "# NLU comparison\n\nTest-split scores; accuracy is in-scope arg-max accuracy, in-scope % and OOS recall "
        "use the threshold tuned on validation (CLINC150: on oos_val). CLINC→HWU64 and SNIPS→HWU64: accuracy "
        "of a model trained on HWU64 on the CLINC150 / SNIPS test utterances whose intent maps to an HWU64 "
        "label (nlu/data/crossset/mapping.tsv); – where not measured. Latency: one utterance per call; "
        "utt/s: batched.\n\n" + markdown(rows)
    )
    (out_dir / "results.md").write_text(text, encoding="utf-8")
    if rows:
        plot_accuracy_latency(rows, out_dir / "accuracy_vs_latency.png")
        for dataset in sorted({r["dataset"] for r in runs}):
            best = max((r for r in runs if r["dataset"] == dataset), key=lambda r: r["accuracy"])
            plot_confusions(best, out_dir / f"confusions_{dataset}.png")
    return report


def plot_accuracy_latency(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    markers = dict(zip(sorted({r["dataset"] for r in rows}), "osD^vP*X", strict=False))
    for row in rows:
        ax.scatter(row["latency_p50_ms"], row["accuracy"] * 100, marker=markers[row["dataset"]], s=60)
        ax.annotate(
            f"{row['model']}/{row['dataset']}",
            (row["latency_p50_ms"], row["accuracy"] * 100),
            fontsize=7,
            xytext=(4, 2),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_xlabel("p50 latency, one utterance (ms, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Accuracy vs latency")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_confusions(run: dict, path: Path, k: int = 12) -> None:
    """Heat map of the confusion counts among the intents involved in the most frequent mistakes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = run.get("confusions") or []
    if not pairs:
        return
    intents: list[str] = []
    for gold, pred, _ in pairs:
        for label in (gold, pred):
            if label not in intents and len(intents) < k:
                intents.append(label)
    index = {label: i for i, label in enumerate(intents)}
    matrix = np.zeros((len(intents), len(intents)))
    for gold, pred, count in pairs:
        if gold in index and pred in index:
            matrix[index[gold], index[pred]] = count
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(matrix, cmap="Reds")
    ax.set_xticks(range(len(intents)), intents, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(intents)), intents, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"Most confused intents: {run['model']} on {run['dataset']}")
    fig.colorbar(image, ax=ax, shrink=0.7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
