"""Calibrated confidence and the fallback threshold, both fitted on validation data.

Temperature scaling (Guo et al. 2017) divides the logits by one scalar T chosen to minimise validation
negative log-likelihood: accuracy is unchanged, confidence becomes honest. The threshold decides when a
request is not for a skill but for the dialog generator (FALLBACK).
"""

from __future__ import annotations

import numpy as np

from nlu.types import Intent

FALLBACK = "fallback"
KEEP_CORRECT = 0.95  # without out-of-scope validation data: keep 95% of the right answers


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The T in [0.05, 20] minimising validation NLL (log-spaced grid, then a finer grid around the best)."""
    if len(targets) == 0:
        return 1.0

    def nll(t: float) -> float:
        probs = softmax(logits, t)[np.arange(len(targets)), targets]
        return float(-np.log(np.clip(probs, 1e-12, None)).mean())

    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 60))
    best = min(grid, key=nll)
    fine = np.linspace(best / 1.15, best * 1.15, 31)
    return float(min(fine, key=nll))


def tune_threshold(confidence: np.ndarray, correct: np.ndarray, is_oos: np.ndarray | None = None) -> float:
    """The threshold on calibrated confidence.

    With out-of-scope validation examples (CLINC150's oos_val): maximise the class-balanced accuracy, the
    mean of in-scope accuracy (accepted with the right label) and out-of-scope recall (rejected). Plain
    joint accuracy let CLINC150's 3,000 in-scope validation examples outvote its 100 out-of-scope ones
    and chose a threshold that caught 29% of out-of-scope requests.
    Without them: the highest threshold that still accepts KEEP_CORRECT of the correct predictions.
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if is_oos is not None and np.any(is_oos) and not np.all(is_oos):
        is_oos = np.asarray(is_oos, dtype=bool)
        candidates = np.unique(np.concatenate([[0.0], confidence]))
        in_conf, in_correct, oos_conf = confidence[~is_oos], correct[~is_oos], confidence[is_oos]
        scores = [
            np.mean((in_conf >= t) & in_correct) + np.mean(oos_conf < t) for t in candidates
        ]  # twice the balanced accuracy
        return float(candidates[int(np.argmax(scores))])
    right = np.sort(confidence[correct])
    if len(right) == 0:
        return 0.0
    return float(right[int(np.floor((1 - KEEP_CORRECT) * len(right)))])


OOS_LABELS = frozenset({"oos"})  # a class of its own in the product models: always the dialog generator


def route(intent: Intent, threshold: float) -> str:
    """The skill label when the model is confident enough, else FALLBACK (the dialog generator)."""
    return intent.label if intent.confidence >= threshold and intent.label not in OOS_LABELS else FALLBACK
