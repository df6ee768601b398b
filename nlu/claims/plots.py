"""One matplotlib figure per claim (Agg backend: no display needed), mean ± std as error bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nlu.claims.stats import stat

COLORS = {"lstm": "tab:blue", "transformer": "tab:orange"}
NAMES = {"lstm": "BiLSTM", "transformer": "Transformer"}
MIB = 2**20


def _figure(ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(6.5 * ncols, 4.2), squeeze=False)
    return plt, fig, list(axes[0])


def _save(plt: Any, fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _label(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()


def _curve(ax: Any, per_x: dict, arch: str, label: str, scale: float = 1.0, style: str = "-o") -> None:
    xs = sorted(per_x)
    stats = [stat(per_x[x]) for x in xs]
    ax.errorbar(
        xs,
        [s.mean * scale for s in stats],
        yerr=[s.std * scale for s in stats],
        fmt=style,
        color=COLORS[arch],
        label=label,
        capsize=3,
    )


def speed(r: Any, path: Path) -> None:
    plt, fig, (ax,) = _figure()
    styles = ["-o", "--s"]
    for i, (device, archs) in enumerate(r.epoch_seconds.items()):
        for arch, per in archs.items():
            _curve(ax, per, arch, f"{NAMES[arch]} ({device})", style=styles[i % 2])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _label(
        ax, "words per input", "seconds per HWU64 epoch (log)", "Claim 1: training time per epoch vs length"
    )
    _save(plt, fig, path)


def long_range(r: Any, path: Path) -> None:
    plt, fig, (ax,) = _figure()
    for arch, per in r.accuracy.items():
        _curve(ax, per, arch, NAMES[arch], scale=100)
    _label(
        ax,
        "filler words after the request",
        "test accuracy (%)",
        "Claim 2: accuracy vs distance from the end",
    )
    _save(plt, fig, path)


def memory(r: Any, path: Path) -> None:
    modes_measured = list(next(iter(r.peak.values())))
    plt, fig, axes = _figure(len(modes_measured))
    styles = ["-o", "--s"]
    for ax, mode in zip(axes, modes_measured, strict=True):
        for i, (device, modes) in enumerate(r.peak.items()):
            for arch, per in modes[mode].items():
                xs = sorted(per)
                ax.plot(
                    xs,
                    [max(per[x], 1) / MIB for x in xs],
                    styles[i % 2],
                    color=COLORS[arch],
                    label=f"{NAMES[arch]} ({device})",
                )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        _label(ax, "words per input", "peak over baseline (MiB, log)", f"Claim 3: peak memory, {mode}")
    _save(plt, fig, path)


def data_efficiency(r: Any, path: Path) -> None:
    plt, fig, (ax,) = _figure()
    for arch, per in r.accuracy.items():
        _curve(ax, {r.n_train[f]: v for f, v in per.items()}, arch, NAMES[arch], scale=100)
    ax.set_xscale("log")
    _label(ax, "HWU64 training examples (log)", "test accuracy (%)", "Claim 4: learning curves")
    _save(plt, fig, path)


def latency(r: Any, path: Path) -> None:
    plt, fig, (ax,) = _figure()
    for arch, per in r.forward_ms.items():
        _curve(ax, per, arch, NAMES[arch])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _label(
        ax, "words in the one input", "batch-1 forward ms (log)", "Claim 5: latency of one input vs length"
    )
    _save(plt, fig, path)
