"""The softmax family: softmax, log_softmax and logsumexp, over one axis.

All three start from exp(x), which overflows for x above ~89 in float32 and loses
every digit for large negative x. Subtracting the maximum m first makes every
exponent <= 0 and changes nothing else, because softmax(x) = softmax(x - m) and
logsumexp(x) = m + logsumexp(x - m). :func:`max_shift` gives that m; every stable
softmax in tinyllm (these ops, attention, cross-entropy) takes it from there.

Backward, with p = softmax(x) saved by forward and g the upstream gradient:

    softmax:      dx = p * (g - sum(g * p))
    log_softmax:  dx = g - p * sum(g)
    logsumexp:    dx = g * p            (g broadcast along the reduced axis)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops.arguments import dim_index, floating, reduce_dims, require_floating
from tinyllm.tensor import Tensor


def max_shift(a: Any, axis: int | tuple[int, ...] | None) -> Any:
    """The maximum of array ``a`` over ``axis`` (kept as size 1), the shift that makes exp safe.

    A slice whose maximum is not finite (all -inf: every position masked out) is
    shifted by 0 instead, so that it gives exp = 0 rather than exp(-inf + inf) = nan; so is
    an empty one (a zero-size axis has no maximum).
    """
    xp = get_array_module(a)
    if a.size == 0:
        return xp.zeros_like(a.sum(axis=axis, keepdims=True))
    m = a.max(axis=axis, keepdims=True)
    return xp.where(xp.isfinite(m), m, 0)


class Softmax(Function):
    """p_i = exp(x_i - m) / sum_j exp(x_j - m) along ``axis``;  dx = p * (g - sum(g * p))."""

    def forward(self, x: Any, axis: int) -> Any:
        xp = get_array_module(x)
        e = xp.exp(x - max_shift(x, axis))
        e /= e.sum(axis=axis, keepdims=True)
        self.p, self.axis = e, axis
        return e

    def backward(self, g: Any) -> Any:
        # BEGIN SOLUTION task=softmax
        p = self.p
        gp = g * p
        return gp - p * gp.sum(axis=self.axis, keepdims=True)
        # END SOLUTION


def softmax(x: Tensor, dim: int) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim``: a probability distribution over that axis."""
    require_floating(x, "softmax")
    return Softmax.apply(x, axis=dim_index(dim, x.ndim, "softmax"))


class LogSoftmax(Function):
    """y_i = (x_i - m) - log(sum_j exp(x_j - m)) along ``axis``;  dx = g - p * sum(g).

    Subtracting m before the log keeps y exact to the rounding of the (small)
    shifted values, not of max|x|; no tiny ratio is ever formed and logged.
    """

    def forward(self, x: Any, axis: int) -> Any:
        xp = get_array_module(x)
        shifted = x - max_shift(x, axis)
        e = xp.exp(shifted)
        z = e.sum(axis=axis, keepdims=True)
        self.p, self.axis = e / z, axis
        return shifted - xp.log(z) if x.size else shifted  # empty: no log(0) warning

    def backward(self, g: Any) -> Any:
        # BEGIN SOLUTION task=softmax
        return g - self.p * g.sum(axis=self.axis, keepdims=True)
        # END SOLUTION


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """log(softmax(x)) along ``dim``, computed without forming softmax's small ratios."""
    require_floating(x, "log_softmax")
    return LogSoftmax.apply(x, axis=dim_index(dim, x.ndim, "log_softmax"))


class LogSumExp(Function):
    """y = m + log(sum exp(x - m)) over ``axes``;  dx = g * softmax(x), g broadcast back.

    The gradient uses the softmax saved by forward. Computing it as exp(x - y) instead
    would be as exact only in exact arithmetic: y is rounded at the magnitude of x
    (1e4 in float32 keeps 3 decimals), and exp turns that rounding into a relative error.
    """

    def forward(self, x: Any, axes: tuple[int, ...] | None, keepdim: bool) -> Any:
        xp = get_array_module(x)
        m = max_shift(x, axes)
        e = xp.exp(x - m)
        z = e.sum(axis=axes, keepdims=True)
        self.p, self.axes, self.keepdim = e / z, axes, keepdim
        # the sum of no terms is 0 and its log -inf, as in PyTorch (without log(0)'s warning)
        y = xp.log(z) + m if x.size else xp.full_like(z, -xp.inf)
        return y if keepdim else y.squeeze(axes)

    def backward(self, g: Any) -> Any:
        if not self.keepdim:
            g = get_array_module(g).expand_dims(g, self.axes if self.axes is not None else tuple(range(self.p.ndim)))
        return g * self.p


def logsumexp(x: Tensor, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``: a smooth maximum, and the normaliser of softmax."""
    return LogSumExp.apply(floating(x), axes=reduce_dims(dim, x.ndim, "logsumexp"), keepdim=keepdim)
