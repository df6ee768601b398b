"""Claim 3: "Transformers need more memory."

Peak memory of one training step (forward, backward, AdamW step; run twice so the optimiser state exists)
and of one inference pass, for a batch of inputs of L words, over the memory already held once the network
and the inputs are built. On CPU each measurement runs in its own fresh Python process (`python -m
nlu.claims.memory PROBE_JSON`), which reads its peak resident set size (VmHWM in /proc/self/status, reset
first through /proc/self/clear_refs; ru_maxrss where /proc is missing): torch's CPU allocations are not
seen by tracemalloc. On CUDA, torch.cuda.max_memory_allocated in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlu.claims import nets
from nlu.claims.settings import ClaimsSettings
from nlu.claims.stats import Check, Verdict, verdict

CLAIM = "Transformers need more memory."
ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the nlu package
MODES = ("train", "inference")
MIB = 2**20
# Below this, two peaks count as equal: page-granular RSS and the allocator's own bookkeeping move by a
# fraction of a MiB between identical probes.
NOISE_BYTES = 2 * MIB
NOISE_FRACTION = 0.05


@dataclass
class MemoryResult:
    claim: str
    setting: str
    # device -> mode -> arch -> length -> peak bytes over the baseline
    peak: dict[str, dict[str, dict[str, dict[int, int]]]]
    attention_bytes: dict[int, int]  # the Transformer's attention scores at each length if materialised
    checks: list[Check] = field(default_factory=list)
    verdict: Verdict | None = None

    def to_dict(self) -> dict:
        return {
            "claim": self.claim,
            "setting": self.setting,
            "peak_bytes": {
                dev: {
                    mode: {arch: {str(L): v for L, v in per.items()} for arch, per in archs.items()}
                    for mode, archs in modes.items()
                }
                for dev, modes in self.peak.items()
            },
            "attention_bytes_if_materialised": {str(L): v for L, v in self.attention_bytes.items()},
            "checks": [c.to_dict() for c in self.checks],
            **(self.verdict.to_dict() if self.verdict else {}),
        }


def more(a: int, b: int) -> bool:
    """`a` is more memory than `b` beyond the measurement noise."""
    return a - b > max(NOISE_BYTES, NOISE_FRACTION * max(a, b))


def judge(peak: dict[str, dict[str, dict[str, dict[int, int]]]]) -> tuple[list[Check], Verdict]:
    """The claim holds at a (device, mode, length) when the Transformer's peak is larger beyond the noise."""
    checks = []
    for dev, modes in peak.items():
        for mode, archs in modes.items():
            for length in sorted(archs["transformer"]):
                t, lstm = archs["transformer"][length], archs["lstm"][length]
                checks.append(
                    Check(
                        f"{length} words, {mode} ({dev})",
                        more(t, lstm),
                        f"Transformer {t / MIB:.1f} MiB vs LSTM {lstm / MIB:.1f} MiB",
                    )
                )
    return checks, verdict(checks, "sequence length and mode")


# --- one measurement --------------------------------------------------------------------------------------


def build_probe(
    arch: str, config: dict, vocab: int, labels: int, length: int, batch: int, device: str, net: Any = None
):
    """The network of `arch` (random weights: memory does not depend on them; `net` to reuse one) and a
    batch of random ids."""
    import torch

    from nlu.registry import create
    from nlu.tokenize import MAX_NGRAMS, Tokenizer

    torch.manual_seed(0)
    if net is None:
        model = create(arch, device=device, **config)
        model.labels, model.tags = [f"label{i}" for i in range(labels)], []
        model.tokenizer = Tokenizer(
            ["<pad>", "<unk>", *(f"w{i}" for i in range(vocab - 2))], config["buckets"]
        )
        net = model._build_net()
        if config["pretrained"]:
            net.embed.words.weight.requires_grad_(False)
    nets.set_max_len(net, length)
    word_ids = torch.randint(2, vocab, (batch, length), device=device)
    ngram_ids = torch.randint(1, config["buckets"], (batch, length, MAX_NGRAMS), device=device)
    lengths = torch.full((batch,), length, dtype=torch.long, device=device)
    targets = torch.randint(0, labels, (batch,), device=device)
    return net, (word_ids, ngram_ids, lengths), targets


def run_step(net: Any, inputs: tuple, targets: Any, mode: str) -> None:
    import torch

    if mode == "inference":
        net.eval()
        with torch.inference_mode():
            net(*inputs)
        return
    net.train()
    optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4, foreach=True)
    for _ in range(2):
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(*inputs)[0], targets)
        loss.backward()
        optimizer.step()


def warm_up(spec: dict, net: Any) -> None:
    """One training step and one inference pass on a 2 x 2-word batch: the libraries' lazy initialisation
    (autograd, optimiser kernels, code pages) is then not counted as the input's cost."""
    _, inputs, targets = build_probe(
        spec["arch"], spec["config"], spec["vocab"], spec["labels"], 2, 2, str(inputs_device(net)), net=net
    )
    run_step(net, inputs, targets, "train")
    run_step(net, inputs, targets, "inference")
    net.zero_grad(set_to_none=True)


def inputs_device(net: Any) -> Any:
    return next(net.parameters()).device


def _proc_status(field_name: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) * 1024
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def probe_cpu(spec: dict) -> dict:
    """In this (fresh) process: peak RSS of one measurement over the RSS once the net and inputs exist."""
    import gc
    import resource

    import torch

    torch.set_num_threads(int(spec.get("threads", 1)))
    net, inputs, targets = build_probe(
        spec["arch"], spec["config"], spec["vocab"], spec["labels"], spec["length"], spec["batch"], "cpu"
    )
    warm_up(spec, net)
    gc.collect()
    baseline = _proc_status("VmRSS")
    if baseline is not None and _reset_peak():
        run_step(net, inputs, targets, spec["mode"])
        peak = _proc_status("VmHWM") or baseline
        method = "VmHWM - VmRSS (clear_refs)"
    else:  # no /proc: ru_maxrss (kilobytes on Linux, bytes on macOS) against the current RSS estimate
        scale = 1 if sys.platform == "darwin" else 1024
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        run_step(net, inputs, targets, spec["mode"])
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        method = "ru_maxrss"
    return {"peak": max(0, peak - baseline), "baseline": baseline, "method": method}


def probe_cuda(spec: dict) -> dict:
    import torch

    net, inputs, targets = build_probe(
        spec["arch"], spec["config"], spec["vocab"], spec["labels"], spec["length"], spec["batch"], "cuda"
    )
    warm_up(spec, net)
    torch.cuda.synchronize()
    baseline = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    run_step(net, inputs, targets, spec["mode"])
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    del net, inputs, targets
    torch.cuda.empty_cache()
    return {
        "peak": max(0, peak - baseline),
        "baseline": baseline,
        "method": "torch.cuda.max_memory_allocated",
    }


def measure(spec: dict, device: str) -> dict:
    if device == "cuda":
        return probe_cuda(spec)
    done = subprocess.run(
        [sys.executable, "-m", "nlu.claims.memory", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        },
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(
            f"memory probe failed ({spec['arch']}, {spec['length']} words): {done.stderr[-2000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_memory(
    s: ClaimsSettings,
    vocab: int,
    labels: int,
    device: str = "cpu",
    advance: Callable[[], None] = lambda: None,
    modes: tuple[str, ...] = MODES,
) -> MemoryResult:
    from nlu.claims.speed import devices

    peak: dict[str, dict[str, dict[str, dict[int, int]]]] = {}
    method = ""
    for dev in devices(device):
        peak[dev] = {mode: {arch: {} for arch in nets.ARCHS} for mode in modes}
        for length in s.lengths:
            for mode in modes:
                for arch in nets.ARCHS:
                    spec = {
                        "arch": arch,
                        "config": nets.arch_config(arch, s),
                        "vocab": vocab,
                        "labels": labels,
                        "length": length,
                        "batch": s.memory_batch,
                        "mode": mode,
                    }
                    out = measure(spec, dev)
                    peak[dev][mode][arch][length] = int(out["peak"])
                    method = method or out["method"]
                    advance()
    attention = {L: s.memory_batch * s.heads * s.layers * L * L * 4 for L in s.lengths}
    checks, decided = judge(peak)
    setting = (
        f"batch {s.memory_batch} of inputs of exactly L words (random ids: memory does not depend on them), "
        f"vocabulary {vocab:,} words (word table frozen: {s.pretrained}); training = two AdamW steps "
        f"(optimiser state included), inference = one forward pass under inference_mode; peak over the "
        f"memory held once the net and inputs exist. CPU: one fresh process per number, peak RSS "
        f"({method or 'VmHWM'}), one thread; CUDA (when present): torch.cuda.max_memory_allocated. One run per "
        f"number (the seed does not change the shapes); differences under max(2 MiB, 5%) count as equal."
    )
    return MemoryResult(CLAIM, setting, peak, attention, checks, decided)


def units(s: ClaimsSettings, device: str) -> int:
    from nlu.claims.speed import devices

    return len(devices(device)) * len(s.lengths) * len(MODES) * 2


if __name__ == "__main__":  # one CPU measurement in a fresh process: the JSON spec in, the JSON result out
    print(json.dumps(probe_cpu(json.loads(sys.argv[1]))))
