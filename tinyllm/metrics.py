"""How good the predictions are: accuracy, precision/recall/F1, confusion matrix, perplexity, bits per character.

Classification metrics take predicted classes (N,) or logits (N, C) — logits are
turned into classes by argmax — and true classes (N,); tensors or arrays. The
language-model measures turn a mean cross-entropy in nats into the numbers
papers report.
"""

from __future__ import annotations

import math
import numbers
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
    if p.ndim > 2:
        raise ValueError(f"metrics: predictions must be class indices (N,) or scores (N, C), not shape {p.shape}")
    if p.ndim == 2:
        p = p.argmax(axis=1)
    p = p.reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"metrics: {p.shape[0]} predictions but {t.shape[0]} targets")
    return _indices(p, "predictions"), _indices(t, "targets")


def _indices(a: numpy.ndarray, name: str) -> numpy.ndarray:
    """``a`` as int64 class indices, or a ValueError naming ``name``: fractions, nan, strings and
    negative numbers are not classes (a cast would truncate them silently)."""
    whole = a.dtype.kind in "iub" or (
        a.dtype.kind == "f" and bool(numpy.all(numpy.isfinite(a))) and bool(numpy.all(a == numpy.round(a)))
    )
    if not whole:
        bad = a.ravel()[:5].tolist()
        raise ValueError(f"metrics: {name} must be class indices (whole numbers), not {a.dtype} values like {bad}")
    if a.size and a.min() < 0:
        raise ValueError(f"metrics: {name} must be class indices >= 0, but one is negative: {a.min()}")
    return a.astype(numpy.int64)


def _check_num_classes(num_classes: Any, p: numpy.ndarray, t: numpy.ndarray) -> None:
    if num_classes is None:
        return
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, numpy.integer)) or num_classes < 1:
        raise ValueError(f"metrics: num_classes must be a positive integer or None, not {num_classes!r}")
    top = int(max(p.max(initial=-1), t.max(initial=-1)))
    if top >= num_classes:
        raise ValueError(f"metrics: class {top} is outside range(num_classes={num_classes})")


def _check_loss(fn: str, mean_cross_entropy: Any) -> float:
    if isinstance(mean_cross_entropy, bool) or not isinstance(mean_cross_entropy, numbers.Real):
        raise TypeError(f"{fn}: mean_cross_entropy must be a number, not {type(mean_cross_entropy).__name__}")
    if mean_cross_entropy < -1e-9:  # a cross-entropy is >= 0; a hair below is rounding
        raise ValueError(f"{fn}: mean_cross_entropy must be >= 0 (a cross-entropy), not {mean_cross_entropy}")
    return float(mean_cross_entropy)


def accuracy(predictions: Any, targets: Any) -> float:
    """The fraction of predictions equal to the target."""
    p, t = _classes(predictions, targets)
    return float((p == t).mean()) if t.size else math.nan


def confusion_matrix(predictions: Any, targets: Any, num_classes: int | None = None) -> numpy.ndarray:
    """M[i, j] = how many examples of true class i were predicted as class j."""
    p, t = _classes(predictions, targets)
    _check_num_classes(num_classes, p, t)
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
    loss = _check_loss("perplexity", mean_cross_entropy)
    return math.inf if loss > 709.0 else math.exp(loss)  # exp overflows a float64 past ~709.78


def bits_per_char(mean_cross_entropy: float) -> float:
    """L / ln 2: the same loss in bits, the average code length per character."""
    return _check_loss("bits_per_char", mean_cross_entropy) / math.log(2)


#: Metrics of predictions, by the names ``fit`` and ``evaluate`` accept.
PREDICTION_METRICS: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": accuracy,
    "precision": lambda p, t: precision_recall_f1(p, t)[0],
    "recall": lambda p, t: precision_recall_f1(p, t)[1],
    "f1": f1_score,
}

#: Metrics of the mean loss, by name.
LOSS_METRICS: dict[str, Callable[[float], float]] = {"perplexity": perplexity, "bits_per_char": bits_per_char}
