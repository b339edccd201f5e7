"""Loss functions: how wrong the model is, as one number to minimize.

Names, arguments and reductions follow PyTorch's ``torch.nn.functional``.
"""

from __future__ import annotations

from typing import Any

import numpy

from tinyllm import backend, ops
from tinyllm.autograd import Function
from tinyllm.fused import SoftmaxCrossEntropy, SquaredError
from tinyllm.ops.arguments import operands, require_floating
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


def _cross_entropy_composed(x: Tensor, t: Any, w: Any, ignore_index: int, reduction: str, eps: float) -> Tensor:
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


def mse_loss(input: Tensor, target: Any, reduction: str = "mean", fused: bool = True) -> Tensor:
    """Mean squared error: mean of (input - target)^2 (or their sum, or each, by ``reduction``).

    ``fused=False`` computes it from primitive ops (subtract, multiply, mean).
    """
    _check_reduction(reduction, "mse_loss")
    target = target if isinstance(target, Tensor) else from_array(target)
    if input.shape != target.shape:
        raise ValueError(f"mse_loss: input shape {input.shape} and target shape {target.shape} differ")
    x, t = operands(input, target, "mse_loss")
    require_floating(x, "mse_loss")
    if fused:
        return SquaredError.apply(x, t, reduction=reduction)
    d = x - t
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


def _same_shape(input: Tensor, target: Any, fn: str) -> Tensor:
    """``target`` as a tensor of ``input``'s shape, or a ValueError naming ``fn``.

    PyTorch broadcasts a target of another shape (with a warning for most losses); a
    mismatch is nearly always a bug (a (B, 1) output against (B,) labels), so tinyllm refuses it.
    """
    target = target if isinstance(target, Tensor) else from_array(backend.to_device(target, input.device))
    if input.shape != target.shape:
        raise ValueError(f"{fn}: input shape {input.shape} and target shape {target.shape} differ")
    return target


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean of |input - target|;  d/dinput = sign(input - target) (0 where equal)."""
    _check_reduction(reduction, "l1_loss")
    require_floating(input, "l1_loss")
    target = _same_shape(input, target, "l1_loss")
    return _reduce(ops.abs(input - target), reduction)


def smooth_l1_loss(input: Tensor, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Huber-like loss of d = input - target: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta.

    Quadratic near zero (a gradient d / beta that fades as the error does), linear far out (a
    gradient of +-1, so outliers do not dominate). The two pieces meet with equal value and
    slope at |d| = beta; beta = 0 is the L1 loss.
    """
    fn = "smooth_l1_loss"
    _check_reduction(reduction, fn)
    require_floating(input, fn)
    if beta < 0:
        raise ValueError(f"{fn}: beta must be >= 0, not {beta}")
    target = _same_shape(input, target, fn)
    d = input - target
    if beta == 0:  # the quadratic piece is empty, and d^2 / 0 would put NaN into the gradient
        return _reduce(ops.abs(d), reduction)
    losses = ops.where(ops.abs(d).data < beta, d * d * (0.5 / beta), ops.abs(d) - 0.5 * beta)
    return _reduce(losses, reduction)


LOG_FLOOR = -100.0  # PyTorch's floor for log p in binary_cross_entropy, so that p = 0 or 1 gives a finite loss
BCE_EPS = float(numpy.float32(1e-12))  # PyTorch's floor for p (1 - p) in the gradient: 1e-12 rounded to float32


class BinaryCrossEntropy(Function):
    """loss = -[y log p + (1 - y) log(1 - p)] per element, each log clamped at -100.

    Written as an op rather than composed because PyTorch's gradient is not the derivative
    of the clamped logs at the edges: it is

        dloss/dp = (p - y) / max(p (1 - p), eps),   eps = 1e-12 (as a float32, as in PyTorch),

    which is the exact derivative wherever p (1 - p) >= eps, and stays finite at p = 0
    and p = 1 (there a clamped log would give 0, and an unclamped one inf or NaN).
    dloss/dy = log(1 - p) - log(p), with the same clamped logs as the forward pass.
    """

    def forward(self, p: Any, y: Any) -> Any:
        xp = backend.get_array_module(p)
        self.p, self.y = p, y
        with numpy.errstate(divide="ignore"):  # log(0) = -inf, then clamped
            self.log_p = xp.maximum(xp.log(p), LOG_FLOOR)
            self.log_q = xp.maximum(xp.log(1 - p), LOG_FLOOR)
        return -(y * self.log_p + (1 - y) * self.log_q)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = backend.get_array_module(gy)
        p, y = self.p, self.y
        gp = gy * (p - y) / xp.maximum(p * (1 - p), BCE_EPS) if self.needs_grad(0) else None
        gt = gy * (self.log_q - self.log_p) if self.needs_grad(1) else None
        return gp, gt


def binary_cross_entropy(input: Tensor, target: Any, weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against targets in [0, 1]:

        loss = -weight [y log p + (1 - y) log(1 - p)],

    with each log clamped at -100, as in PyTorch, so a confident wrong answer (p = 0, y = 1)
    costs 100, not inf. ``weight`` broadcasts to the input. For logits, prefer
    :func:`binary_cross_entropy_with_logits`: it is exact where sigmoid would round to 0 or 1.
    """
    fn = "binary_cross_entropy"
    _check_reduction(reduction, fn)
    require_floating(input, fn)
    y = _same_shape(input, target, fn)
    p_data = input.data
    if p_data.size and bool(((p_data < 0) | (p_data > 1) | (p_data != p_data)).any()):
        raise ValueError(f"{fn}: all elements of input must be probabilities in [0, 1]")
    losses = BinaryCrossEntropy.apply(input, y.to(input.dtype))
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")


def kl_div(input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(target || model) with the model as log-probabilities ``input``:

        loss = t (log t - input)            (t = target; 0 where t = 0, as 0 log 0 = 0)
        loss = e^t (t - input)              (log_target=True: the target as log-probabilities)

    per element. "batchmean" divides the sum by the batch size input.shape[0] (the KL
    divergence per sample, its mathematical definition); "mean" divides by the number of
    elements, which PyTorch keeps for compatibility (and warns about; tinyllm only says so here).
    """
    fn = "kl_div"
    if reduction not in KL_REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {KL_REDUCTIONS}, not {reduction!r}")
    require_floating(input, fn)
    t = _same_shape(input, target, fn)
    if log_target:
        losses = ops.exp(t) * (t - input)
    else:
        zero = t.data == 0  # t log t -> 0 as t -> 0; log(1) keeps NaN and inf out of the gradient
        t_log_t = ops.where(zero, 0.0, t * ops.log(ops.where(zero, 1.0, t)))
        losses = t_log_t - t * input
    if reduction == "batchmean":
        return losses.sum() / input.shape[0] if input.ndim else losses.sum()
    return _reduce(losses, reduction)
