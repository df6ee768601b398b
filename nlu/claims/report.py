"""The claims report: `claims.md` (one section per claim: the claim, the setting, the numbers, the verdict
and the checks behind it), `claims.json` (every number, per seed) and PNG plots, in one folder."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nlu.claims.stats import stat

ORDER = ("speed", "long_range", "memory", "data_efficiency", "latency")
TITLES = {
    "speed": "1. Training speed",
    "long_range": "2. Long-range dependencies",
    "memory": "3. Memory",
    "data_efficiency": "4. Generalisation with less data",
    "latency": "5. Latency for a voice assistant",
}
PLOTS = {
    "speed": "speed.png",
    "long_range": "long_range.png",
    "memory": "memory.png",
    "data_efficiency": "data_efficiency.png",
    "latency": "latency.png",
}
MIB = 2**20


def machine() -> dict[str, Any]:
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _values(per: dict, key: Any, fmt: str, unit: str = "") -> str:
    values = per.get(key) or []
    return stat(values).text(fmt, unit) if values else "–"


def speed_section(r: Any) -> str:
    parts = []
    for device, archs in r.epoch_seconds.items():
        rows = [
            [str(L), _values(archs["lstm"], L, ".1f", " s"), _values(archs["transformer"], L, ".1f", " s")]
            for L in sorted(archs["lstm"])
        ]
        parts.append(f"Seconds per epoch on {device}:\n\n" + _table(["words", "BiLSTM", "Transformer"], rows))
    reach = {arch: [v for v in values if v is not None] for arch, values in r.time_to_target.items()}
    rows = [
        [
            arch,
            stat(reach[arch]).text(".1f", " s") if reach[arch] else "never",
            f"{len(reach[arch])}/{len(values)}",
        ]
        for arch, values in r.time_to_target.items()
    ]
    parts.append(
        f"Training time to {r.target_accuracy:.0%} validation intent accuracy (natural length):\n\n"
        + _table(["model", "seconds", "seeds that reached it"], rows)
    )
    return "\n\n".join(parts)


def long_range_section(r: Any) -> str:
    distances = sorted(r.accuracy["lstm"])
    rows = [
        [str(d), _values(r.accuracy["lstm"], d, ".3f"), _values(r.accuracy["transformer"], d, ".3f")]
        for d in distances
    ]
    return "Test accuracy by distance of the request from the end:\n\n" + _table(
        ["filler words after the request", "BiLSTM", "Transformer"], rows
    )


def memory_section(r: Any) -> str:
    parts = []
    for device, modes in r.peak.items():
        names = list(modes)
        rows = []
        for L in sorted(modes[names[0]]["lstm"]):
            row = [str(L)]
            for mode in names:
                for arch in ("lstm", "transformer"):
                    row.append(f"{modes[mode][arch][L] / MIB:.1f}")
            row.append(f"{r.attention_bytes[L] / MIB:.1f}")
            rows.append(row)
        header = [
            "words",
            *(f"{mode} {name} MiB" for mode in names for name in ("BiLSTM", "Transformer")),
            "attention scores if materialised MiB",
        ]
        parts.append(f"Peak memory over the baseline on {device}:\n\n" + _table(header, rows))
    return "\n\n".join(parts)


def data_efficiency_section(r: Any) -> str:
    rows = [
        [
            f"{f:.0%}",
            str(r.n_train[f]),
            _values(r.accuracy["lstm"], f, ".3f"),
            _values(r.accuracy["transformer"], f, ".3f"),
        ]
        for f in sorted(r.accuracy["lstm"])
    ]
    text = "HWU64 test accuracy by share of the train split:\n\n" + _table(
        ["train share", "examples", "BiLSTM", "Transformer"], rows
    )
    sources = sorted(set(r.crossset.get("lstm", {})) | set(r.crossset.get("transformer", {})))
    if sources:
        rows = [
            [
                f"{s} → HWU64",
                _values(r.crossset["lstm"], s, ".3f"),
                _values(r.crossset["transformer"], s, ".3f"),
            ]
            for s in sources
        ]
        text += "\n\nCross-set accuracy (trained on all of HWU64):\n\n" + _table(
            ["test set", "BiLSTM", "Transformer"], rows
        )
    return text


def latency_section(r: Any) -> str:
    rows = [
        [
            arch,
            stat(r.p50_ms[arch]).text(".2f"),
            stat(r.p95_ms[arch]).text(".2f"),
            stat(r.throughput[arch]).text(".0f"),
        ]
        for arch in ("lstm", "transformer")
    ]
    text = "One HWU64 utterance per call (the product's predict path):\n\n" + _table(
        ["model", "p50 ms", "p95 ms", "utterances/s batched"], rows
    )
    rows = [
        [
            str(L),
            _values(r.forward_ms["lstm"], L, ".2f", " ms"),
            _values(r.forward_ms["transformer"], L, ".2f", " ms"),
        ]
        for L in sorted(r.forward_ms["lstm"])
    ]
    return (
        text
        + "\n\nBatch-1 forward pass of the network by input length:\n\n"
        + _table(["words", "BiLSTM", "Transformer"], rows)
    )


SECTIONS = {
    "speed": speed_section,
    "long_range": long_range_section,
    "memory": memory_section,
    "data_efficiency": data_efficiency_section,
    "latency": latency_section,
}


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    m = meta["machine"]
    lines = [
        "# Transformer vs LSTM: the article's claims, measured",
        "",
        f"Setting `{meta['settings']['name']}` on {m['platform']} ({m['cpus']} CPUs, torch {m['torch']}, "
        f"{m['torch_threads']} threads{', GPU ' + m['cuda'] if m['cuda'] else ', no GPU'}), {m['date']}; "
        f"run device {meta['device']}; {meta['seconds']['total'] / 60:.1f} minutes. Numbers are mean ± std "
        f"over {len(meta['settings']['seeds'])} seed(s) (sample std).",
        "",
        f"Both models: the product's tokenizer, word + character n-gram input layer and joint heads "
        f"(nlu/models); only the encoder differs. Matched {meta['matching_text']}.",
        "",
        "Verdict rule (nlu/claims/stats.py): at each point measured, the claim holds when the side it favours "
        "is better beyond both spreads (mean ± std do not overlap); **confirmed** if it holds at every point, "
        "**refuted** if at none, otherwise **depends on** the axis.",
        "",
        "| claim | verdict |",
        "|---|---|",
    ]
    for key in ORDER:
        if key in results:
            lines.append(f"| {results[key].claim} | {results[key].verdict.verdict} |")
    for key in ORDER:
        if key not in results:
            continue
        r = results[key]
        lines += [
            "",
            f"## {TITLES[key]}",
            "",
            f"> {r.claim}",
            "",
            f"**Setting.** {r.setting}",
            "",
            SECTIONS[key](r),
            "",
            f"![{TITLES[key]}]({PLOTS[key]})",
            "",
            f"**Verdict:** {r.verdict.line}",
            "",
            "Checks:",
            "",
            *(f"- {c.point}: {'holds' if c.holds else 'does not hold'} ({c.detail})" for c in r.checks),
        ]
    return "\n".join(lines) + "\n"


def write_report(results: dict[str, Any], meta: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    from nlu.claims import plots

    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {**meta, "machine": machine()}
    report = {"meta": meta, "claims": {key: results[key].to_dict() for key in ORDER if key in results}}
    tmp = out_dir / f"claims.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    tmp.replace(out_dir / "claims.json")
    for key in ORDER:
        if key in results:
            getattr(plots, key)(results[key], out_dir / PLOTS[key])
    (out_dir / "claims.md").write_text(markdown(results, meta), encoding="utf-8")
    return report


def rich_table(report: dict[str, Any]):
    from rich.table import Table

    table = Table(title="Transformer vs LSTM: the article's claims, measured here")
    for column in ("claim", "verdict", "why"):
        table.add_column(column)
    for key in ORDER:
        claim = report["claims"].get(key)
        if claim:
            table.add_row(claim["claim"], claim["verdict"], claim["reason"])
    return table
