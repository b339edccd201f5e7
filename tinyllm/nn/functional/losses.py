"""Loss functions: how wrong the model is, as one number to minimize.

Names, arguments and reductions follow PyTorch's ``torch.nn.functional``.
"""

from __future__ import annotations

from typing import Any

import numpy

from tinyllm import backend, ops
from tinyllm.fused import SoftmaxCrossEntropy
from tinyllm.ops.arguments import require_floating
from tinyllm.tensor import Tensor, from_array

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, fn: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {REDUCTIONS}, not {reduction!r}")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def _weighted_mean(losses: Tensor, total_weight: Any) -> Tensor:
    """sum(losses) / total_weight; with nothing counted (total weight 0) it is NaN, as in
    PyTorch, but its gradient stays zero (dividing by 0 would make it NaN too)."""
    if not total_weight:
        return losses.sum() + float("nan")
    return losses.sum() / from_array(total_weight)


def _classes_last(x: Tensor, target: Any, fn: str) -> tuple[Tensor, Any, tuple[int, ...]]:
    """(N, C, d1, ...) logits and (N, d1, ...) targets as (M, C) and (M,) rows; also the
    shape of the per-element losses. Unbatched (C,) input with a 0-d target is one row."""
    t = target.data if isinstance(target, Tensor) else backend.get_array_module(x.data).asarray(target)
    probabilities = backend.is_floating(t.dtype)
    if x.ndim == 0:
        raise ValueError(f"{fn}: input must have a class dimension, but it is 0-d")
    if x.ndim == 1:
        x, t = x.reshape(1, -1), (t.reshape(1, -1) if probabilities else t.reshape(1))
        out_shape: tuple[int, ...] = ()
    else:
        out_shape = (x.shape[0], *x.shape[2:])
    expected = x.shape if probabilities else (x.shape[0], *x.shape[2:])
    if t.shape != expected:
        kind = "class probabilities" if probabilities else "class ids"
        raise ValueError(f"{fn}: input of shape {x.shape} needs {kind} of shape {expected}, not {t.shape}")
    if x.ndim > 2:  # move the class axis last and fold the rest into rows
        x = ops.permute(x, 0, *range(2, x.ndim), 1).reshape(-1, x.shape[1])
        t = backend.get_array_module(t).moveaxis(t, 1, -1).reshape(-1, x.shape[1]) if probabilities else t.reshape(-1)
    return x, t, out_shape


def _check_class_ids(t: Any, n_classes: int, ignore_index: int, fn: str) -> None:
    if not numpy.issubdtype(t.dtype, numpy.integer):
        raise TypeError(f"{fn}: targets must be integer class ids or float probabilities, not {t.dtype}")
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bool(bad.any()):
        value = int(t[bad].reshape(-1)[0])
        raise IndexError(
            f"{fn}: target {value} is out of range for {n_classes} classes "
            f"(ids must be in [0, {n_classes}), or ignore_index={ignore_index})"
        )


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    fused: bool = True,
) -> Tensor:
    """Cross-entropy between logits and targets: L = -sum_c t_c log softmax(input)_c.

    input: (N, C) or (N, C, d1, ...) logits, or (C,) for one sample.
    target: (N,) / (N, d1, ...) integer class ids, or float class probabilities
    of the input's shape. ``weight`` (C,) scales each class; ``ignore_index``
    marks targets that count zero; ``label_smoothing`` eps mixes the target
    with the uniform distribution: (1 - eps) t + eps / C. ``reduction`` is "mean"
    (over the counted targets, weighted), "sum" or "none". Stable for any logits:
    only ``input - max`` is exponentiated.

    ``fused=False`` computes it from primitive ops (log_softmax, indexing, sums).
    """
    fn = "cross_entropy"
    _check_reduction(reduction, fn)
    require_floating(input, fn)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be in [0, 1], not {label_smoothing}")
    x, t, out_shape = _classes_last(input, target, fn)
    n_classes = x.shape[1]
    if not backend.is_floating(t.dtype):
        _check_class_ids(t, n_classes, ignore_index, fn)
    w = None
    if weight is not None:
        if weight.shape != (n_classes,):
            raise ValueError(f"{fn}: weight should have shape ({n_classes},), one per class, not {weight.shape}")
        w = weight.data
    if fused:
        out = SoftmaxCrossEntropy.apply(
            x, target=t, weight=w, ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing
        )
    else:
        out = _cross_entropy_composed(x, t, w, ignore_index, reduction, label_smoothing)
    return out.reshape(out_shape) if reduction == "none" else out


def _cross_entropy_composed(
    x: Tensor, t: Any, w: Any, ignore_index: int, reduction: str, eps: float
) -> Tensor:
    xp = backend.get_array_module(x.data)
    n, c = x.shape
    logp = ops.log_softmax(x, dim=1)
    w = xp.ones(c, dtype=x.dtype) if w is None else w.astype(x.dtype)
    if backend.is_floating(t.dtype):
        target = (1 - eps) * t + eps / c
        losses = -(logp * from_array((w * target).astype(x.dtype))).sum(dim=1)
        return _reduce(losses, reduction)
    counted = t != ignore_index
    safe = xp.where(counted, t, 0)
    picked = ops.getitem(logp, (xp.arange(n), safe))  # log p of each target class
    w_target = xp.where(counted, w[safe], 0).astype(x.dtype)
    losses = -(picked * from_array((1 - eps) * w_target))
    if eps:
        mask = from_array(xp.where(counted, eps / c, 0).astype(x.dtype)[:, None] * w)
        losses = losses - (logp * mask).sum(dim=1)
    if reduction == "mean":
        return _weighted_mean(losses, w_target.sum())
    return _reduce(losses, reduction)


def nll_loss(
    input: Tensor, target: Any, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood: -input[n, target[n]] (weighted), for log-probabilities as input.

    ``cross_entropy(x, t) == nll_loss(log_softmax(x, 1), t)``.
    """
    fn = "nll_loss"
    _check_reduction(reduction, fn)
    require_floating(input, fn)
    x, t, out_shape = _classes_last(input, target, fn)
    _check_class_ids(t, x.shape[1], ignore_index, fn)
    xp = backend.get_array_module(x.data)
    counted = t != ignore_index
    safe = xp.where(counted, t, 0)
    w = xp.ones(x.shape[1], dtype=x.dtype) if weight is None else weight.data.astype(x.dtype)
    w_target = xp.where(counted, w[safe], 0).astype(x.dtype)
    losses = -(ops.getitem(x, (xp.arange(x.shape[0]), safe)) * from_array(w_target))
    if reduction == "none":
        return losses.reshape(out_shape)
    return _weighted_mean(losses, w_target.sum()) if reduction == "mean" else losses.sum()


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean of (input - target)^2."""
    _check_reduction(reduction, "mse_loss")
    target = target if isinstance(target, Tensor) else from_array(target)
    if input.shape != target.shape:
        raise ValueError(f"mse_loss: input shape {input.shape} and target shape {target.shape} differ")
    d = input - target
    return _reduce(d * d, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target: Any, weight: Tensor | None = None, reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:  # fmt: skip
    """Binary cross-entropy of sigmoid(input) against targets in [0, 1], from the logits:

        loss = -[pw * y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]
             = (1 - y) x + (1 + (pw - 1) y) softplus(-x),

    with softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^-|z|), so no exp overflows.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    y = target if isinstance(target, Tensor) else from_array(target)
    if input.shape != y.shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: input shape {input.shape} and target shape {y.shape} differ"
        )
    # |x| = s x and max(-x, 0) = (|x| - x) / 2 with a constant sign s that is +1 at x = 0: the
    # subgradients of relu and abs (0 at 0) would make the slope of softplus(-x) there 0, not -1/2
    xp = backend.get_array_module(input.data)
    abs_x = input * from_array(xp.where(input.data < 0, -1, 1).astype(input.dtype))
    softplus_neg = (abs_x - input) * 0.5 + ops.log(1 + ops.exp(-abs_x))
    coeff = 1 + (pos_weight - 1) * y if pos_weight is not None else 1
    losses = (1 - y) * input + coeff * softplus_neg
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)
