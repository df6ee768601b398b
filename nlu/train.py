"""The plain training loop every torch model uses: AdamW, linear warm-up and decay, gradient clipping,
early stopping on a validation score (the best weights are kept), fixed seeds and a progress bar."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def set_seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def length_grouped_batches(
    order: list[int], length: Callable[[int], int], size: int, rng: random.Random, pool: int = 50
) -> list[list[int]]:
    """Batches of similar-length examples, in random order: sorting each pool of `pool` batches by length
    before cutting it means little padding (a fifth less compute per step for MiniLM on SNIPS), while the
    pools and the batch order stay shuffled."""
    batches: list[list[int]] = []
    for start in range(0, len(order), size * pool):
        chunk = sorted(order[start : start + size * pool], key=length)
        batches.extend(chunk[s : s + size] for s in range(0, len(chunk), size))
    rng.shuffle(batches)
    return batches


@dataclass(frozen=True)
class LoopConfig:
    epochs: int
    lr: float
    patience: int
    weight_decay: float = 0.01
    warmup: float = 0.06
    clip: float = 1.0
    description: str = "Training"
    # called after every optimiser step with (steps done, steps planned, status line): the web page's bar
    on_step: Callable[[int, int, str], None] | None = None


def train_loop(
    net: Any,
    batches: Callable[[random.Random], Sequence[Any]],
    loss_fn: Callable[[Any], Any],
    score_fn: Callable[[], float],
    config: LoopConfig,
    seed: int = 0,
    param_groups: list[dict] | None = None,
) -> dict:
    """Train `net` on `batches(rng)` per epoch; keep the state with the best `score_fn()` (validation).

    `loss_fn(batch)` returns a scalar loss; `score_fn` evaluates (higher is better) and must leave the
    net in eval mode or not — the loop sets train mode itself before each epoch.
    """
    import torch

    from nlu.progress import err_console, progress_bar

    rng = random.Random(seed)
    first = batches(rng)
    steps = max(1, len(first) * config.epochs)
    groups = param_groups or [{"params": [p for p in net.parameters() if p.requires_grad]}]
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
    warmup = max(1, int(config.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup)))
    )
    best_score, best_state, best_epoch, bad_epochs, step = -1.0, None, 0, 0, 0
    scores: list[float] = []
    with progress_bar(transient=True) as progress:
        task = progress.add_task(config.description, total=steps)
        for epoch in range(config.epochs):
            epoch_batches = first if epoch == 0 else batches(rng)
            net.train()
            total = 0.0
            for batch in epoch_batches:
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(batch)
                loss.backward()
                if config.clip:
                    torch.nn.utils.clip_grad_norm_(net.parameters(), config.clip)
                optimizer.step()
                schedule.step()
                total += float(loss.detach())
                progress.advance(task)
                step += 1
                if config.on_step is not None:
                    config.on_step(min(step, steps), steps, f"epoch {epoch + 1} of up to {config.epochs}")
            net.eval()
            with torch.no_grad():
                score = float(score_fn())
            scores.append(score)
            progress.update(
                task,
                description=f"{config.description} · epoch {epoch + 1} · loss {total / max(1, len(epoch_batches)):.3f}"
                f" · valid {score:.4f}",
            )
            if not err_console.is_terminal:  # logs (CI, nohup) get one line per epoch instead of a bar
                err_console.print(f"{config.description}: epoch {epoch + 1}, valid {score:.4f}")
            if score > best_score:
                best_score, best_epoch, bad_epochs = score, epoch + 1, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                bad_epochs += 1
                if bad_epochs >= config.patience:
                    break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return {
        "best_valid": best_score,
        "best_epoch": best_epoch,
        "epochs_run": len(scores),
        "valid_curve": scores,
    }
