"""How good the predictions are: accuracy, precision/recall/F1, confusion matrix, perplexity, bits per character.

Classification metrics take predicted classes (N,) or logits (N, C) — logits are
turned into classes by argmax — and true classes (N,); tensors or arrays. The
language-model measures turn a mean cross-entropy in nats into the numbers
papers report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.tensor import Tensor


def to_host(x: Any) -> numpy.ndarray:
    """A tensor or array as a NumPy array on the host (metrics are computed there)."""
    if isinstance(x, Tensor):
        x = x.data
    return numpy.asarray(backend.to_device(x, backend.CPU)) if backend.is_cuda_array(x) else numpy.asarray(x)


def _classes(predictions: Any, targets: Any) -> tuple[numpy.ndarray, numpy.ndarray]:
    p, t = to_host(predictions), to_host(targets).reshape(-1)
    if p.ndim == 2:
        p = p.argmax(axis=1)
    p = p.reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"metrics: {p.shape[0]} predictions but {t.shape[0]} targets")
    return p.astype(numpy.int64), t.astype(numpy.int64)


def accuracy(predictions: Any, targets: Any) -> float:
    """The fraction of predictions equal to the target."""
    p, t = _classes(predictions, targets)
    return float((p == t).mean()) if t.size else math.nan


def confusion_matrix(predictions: Any, targets: Any, num_classes: int | None = None) -> numpy.ndarray:
    """M[i, j] = how many examples of true class i were predicted as class j."""
    p, t = _classes(predictions, targets)
    n = num_classes or int(max(p.max(initial=-1), t.max(initial=-1)) + 1)
    return numpy.bincount(t * n + p, minlength=n * n).reshape(n, n)


def precision_recall_f1(predictions: Any, targets: Any, num_classes: int | None = None) -> tuple[float, float, float]:
    """Macro averages over classes: precision_c = M[c, c] / (predicted c), recall_c = M[c, c] /
    (true c), F1_c = 2 P R / (P + R); a class with no predictions (or no examples) counts 0 there."""
    m = confusion_matrix(predictions, targets, num_classes).astype(numpy.float64)
    hits = numpy.diag(m)
    with numpy.errstate(invalid="ignore", divide="ignore"):
        precision = numpy.where(m.sum(axis=0) > 0, hits / m.sum(axis=0), 0.0)
        recall = numpy.where(m.sum(axis=1) > 0, hits / m.sum(axis=1), 0.0)
        f1 = numpy.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return float(precision.mean()), float(recall.mean()), float(f1.mean())


def f1_score(predictions: Any, targets: Any, num_classes: int | None = None) -> float:
    return precision_recall_f1(predictions, targets, num_classes)[2]


def perplexity(mean_cross_entropy: float) -> float:
    """exp(L) for a mean cross-entropy L in nats: the model is as unsure as a uniform choice among
    that many tokens."""
    return math.exp(mean_cross_entropy)


def bits_per_char(mean_cross_entropy: float) -> float:
    """L / ln 2: the same loss in bits, the average code length per character."""
    return mean_cross_entropy / math.log(2)


#: Metrics of predictions, by the names ``fit`` and ``evaluate`` accept.
PREDICTION_METRICS: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": accuracy,
    "precision": lambda p, t: precision_recall_f1(p, t)[0],
    "recall": lambda p, t: precision_recall_f1(p, t)[1],
    "f1": f1_score,
}

#: Metrics of the mean loss, by name.
LOSS_METRICS: dict[str, Callable[[float], float]] = {"perplexity": perplexity, "bits_per_char": bits_per_char}
