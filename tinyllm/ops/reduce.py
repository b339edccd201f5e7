"""Reductions: sum, mean, var and std, prod, norm, max and min.

A reduction's backward spreads each output gradient back over the elements it
summarised. ``keepdim=False`` removed the reduced axes, so the gradient first
gets them back as size-1 axes (:func:`restore_axes`) and then broadcasts.

Ties in max and min follow PyTorch:

- ``amax``/``amin`` and the full reductions ``x.max()``/``x.min()`` share the
  gradient equally among all elements equal to the extreme;
- ``x.max(dim)``/``x.min(dim)`` return indices too, and the gradient goes to the
  element at the returned index only (the first occurrence).
"""

from __future__ import annotations

import builtins
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops.arguments import dim_index, reduce_dims, require_floating
from tinyllm.tensor import Tensor, from_array

Axes = tuple[int, ...] | None


def restore_axes(grad: Any, axes: Axes, ndim: int, keepdim: bool) -> Any:
    """Re-insert the size-1 axes that a reduction with ``keepdim=False`` removed."""
    if keepdim or (axes is None and grad.ndim == ndim):
        return grad
    if axes is None:
        return grad.reshape((1,) * ndim)
    return get_array_module(grad).expand_dims(grad, axes)


class Sum(Function):
    """y = sum of x over ``axes``;  dy/dx_i = 1 for every summed element."""

    def forward(self, x: Any, axes: Axes, keepdim: bool) -> Any:
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)

    def backward(self, gy: Any) -> Any:
        g = restore_axes(gy, self.axes, len(self.shape), self.keepdim)
        return get_array_module(gy).broadcast_to(g, self.shape)


def sum(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return Sum.apply(x, axes=reduce_dims(dim, x.ndim, "sum"), keepdim=keepdim)


class Mean(Function):
    """y = (1/n) sum of x over ``axes``;  dy/dx_i = 1/n. The mean of no elements (n = 0) is NaN."""

    def forward(self, x: Any, axes: Axes, keepdim: bool) -> Any:
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        total = x.sum(axis=axes, keepdims=keepdim)
        self.n = x.size // builtins.max(total.size, 1)
        if self.n == 0:  # 0 / 0, without NumPy's warning; x is empty, so no gradient flows
            self.n = 1
            return get_array_module(x).full_like(total, numpy.nan)
        return total / x.dtype.type(self.n)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        if gy.ndim == 0:  # the mean of everything (a loss): one number to spread, faster than broadcast_to
            g = xp.empty(self.shape, dtype=gy.dtype)
            g[...] = gy / self.n
            return g
        return xp.broadcast_to(restore_axes(gy, self.axes, len(self.shape), self.keepdim) / self.n, self.shape)


def mean(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    require_floating(x, "mean")
    return Mean.apply(x, axes=reduce_dims(dim, x.ndim, "mean"), keepdim=keepdim)


def var(
    x: Tensor, dim: int | Sequence[int] | None = None, correction: int = 1, keepdim: bool = False
) -> Tensor:
    """Variance sum((x - mean)^2) / (n - correction); ``correction=1`` (PyTorch's default) is unbiased."""
    require_floating(x, "var")
    axes = reduce_dims(dim, x.ndim, "var")
    n = x.numel() if axes is None else int(numpy.prod([x.shape[d] for d in axes]))
    centered = x - mean(x, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim) / builtins.max(n - correction, 0)


def std(x: Tensor, dim: int | Sequence[int] | None = None, correction: int = 1, keepdim: bool = False) -> Tensor:
    """Standard deviation, the square root of :func:`var` (same arguments)."""
    return var(x, dim, correction, keepdim).sqrt()


class Prod(Function):
    """y = product of x over ``axes``;  dy/dx_i = product of the other elements.

    That is y / x_i where no element is zero. With zeros, dividing would give 0/0, so
    the rule is used as it reads: with one zero in a slice, only that element gets a
    gradient (the product of the rest); with two or more, every product of the others
    holds a zero, and the whole slice gets 0. PyTorch gives the same.
    """

    def forward(self, x: Any, axes: Axes, keepdim: bool) -> Any:
        self.x, self.axes, self.keepdim = x, axes, keepdim
        return x.prod(axis=axes, keepdims=keepdim)

    def backward(self, gy: Any) -> Any:
        x, axes = self.x, self.axes
        xp = get_array_module(x)
        g = restore_axes(gy, axes, x.ndim, self.keepdim)
        zero = x == 0
        nonzero = xp.where(zero, 1, x)  # the zeros left out of the product
        zeros = zero.sum(axis=axes, keepdims=True)
        others = nonzero.prod(axis=axes, keepdims=True)
        d = xp.where(zeros == 0, others / nonzero, xp.where((zeros == 1) & zero, others, 0))
        return g * d


def prod(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """The product of all elements, or of those along ``dim`` (one dim, as in PyTorch)."""
    if dim is None or x.ndim == 0:  # a 0-d tensor accepts dim 0 or -1, as in PyTorch
        if dim is not None:
            dim_index(dim, 1, "prod")
        return Prod.apply(x, axes=None, keepdim=keepdim)
    return Prod.apply(x, axes=(dim_index(dim, x.ndim, "prod"),), keepdim=keepdim)


class VectorNorm(Function):
    """y = (sum |x_i|^p)^(1/p) over ``axes``, for p > 0;
    dy/dx_i = sign(x_i) (|x_i| / y)^(p-1), and 0 where y = 0 (PyTorch's choice: the
    norm has no derivative at the origin, and 0 is a subgradient).
    """

    def forward(self, x: Any, axes: Axes, keepdim: bool, p: float) -> Any:
        xp = get_array_module(x)
        self.x, self.axes, self.keepdim, self.p = x, axes, keepdim, p
        if p == 2:
            y = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        elif p == 1:
            y = xp.abs(x).sum(axis=axes, keepdims=True)
        else:
            y = (xp.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1 / p)
        self.y = y
        return y if keepdim else y.reshape(()) if axes is None else y.squeeze(axes)

    def backward(self, gy: Any) -> Any:
        x, y, p = self.x, self.y, self.p
        xp = get_array_module(x)
        g = restore_axes(gy, self.axes, x.ndim, self.keepdim)
        safe_y = xp.where(y == 0, 1, y)
        if p == 2:
            d = x / safe_y
        elif p == 1:
            d = xp.sign(x)
        else:
            d = xp.sign(x) * (xp.abs(x) / safe_y) ** (p - 1)
        return g * xp.where(y == 0, 0, d)


def norm(x: Tensor, p: float | str = "fro", dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """The vector p-norm of all elements, or of those along ``dim``.

    ``p``: ``"fro"`` (PyTorch's default) and 2 give sqrt(sum x^2); 1 sums |x|; ``inf`` and
    ``-inf`` take the largest and smallest |x| (ties share the gradient, as in
    ``amax``); any other p > 0 gives (sum |x|^p)^(1/p). At the origin the gradient is
    0, as in PyTorch. Matrix norms (``"nuc"``, or p = 2 meaning the spectral norm) are
    not provided: with a ``dim`` of two axes this is still the vector norm over them,
    which is what ``torch.norm`` computes for every p but ``"nuc"``.
    """
    require_floating(x, "norm")
    axes = reduce_dims(dim, x.ndim, "norm")
    if p == "fro":
        p = 2
    if p == numpy.inf:
        return amax(x.abs(), axes, keepdim)
    if p == -numpy.inf:
        return amin(x.abs(), axes, keepdim)
    if isinstance(p, str) or not p > 0:
        raise ValueError(f"norm: p must be 'fro', inf, -inf or a number > 0, got {p!r}")
    return VectorNorm.apply(x, axes=axes, keepdim=keepdim, p=float(p))


class AMax(Function):
    """y = max of x over ``axes``;  dy/dx_i = 1/k for each of the k elements equal to the max."""

    reduce = "max"

    def forward(self, x: Any, axes: Axes, keepdim: bool) -> Any:
        self.axes, self.keepdim, self.ndim = axes, keepdim, x.ndim
        y = getattr(x, self.reduce)(axis=axes, keepdims=True)
        self.winners = x == y
        self.count = self.winners.sum(axis=axes, keepdims=True, dtype=x.dtype)
        return y if keepdim else y.reshape(()) if axes is None else y.squeeze(axes)

    def backward(self, gy: Any) -> Any:
        g = restore_axes(gy, self.axes, self.ndim, self.keepdim)
        return self.winners * (g / self.count)


class AMin(AMax):
    """y = min of x over ``axes``;  dy/dx_i = 1/k for each of the k elements equal to the min."""

    reduce = "min"


def check_nonempty(x: Tensor, axes: Axes, op: str, error: type[Exception] = RuntimeError) -> None:
    """A max or min over nothing has no value: PyTorch's errors (``error`` for a reduction
    over every axis), which name the dim to use."""
    if axes is None:
        if x.numel() == 0:
            raise error(
                f"{op}: the tensor of shape {x.shape} is empty; reduce over a dim of nonzero size instead"
            )
        return
    for d in axes:
        if x.shape[d] == 0:
            raise IndexError(f"{op}: reduction dim {d} has size 0 (tensor of shape {x.shape}); it has no {op}")


def amax(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """Largest value over ``dim``; tied maxima share the gradient equally."""
    axes = reduce_dims(dim, x.ndim, "amax")
    check_nonempty(x, axes, "amax")
    return AMax.apply(x, axes=axes, keepdim=keepdim)


def amin(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """Smallest value over ``dim``; tied minima share the gradient equally."""
    axes = reduce_dims(dim, x.ndim, "amin")
    check_nonempty(x, axes, "amin")
    return AMin.apply(x, axes=axes, keepdim=keepdim)


class MaxDim(Function):
    """y = max of x along ``dim`` (indices kept);  dy/dx = 1 at the first maximal element only."""

    pick = "argmax"

    def forward(self, x: Any, dim: int, keepdim: bool) -> Any:
        xp = get_array_module(x)
        self.shape, self.dim, self.keepdim = x.shape, dim, keepdim
        index = xp.expand_dims(getattr(x, self.pick)(axis=dim), dim)
        self.indices = index if keepdim else index.squeeze(dim)
        y = xp.take_along_axis(x, index, axis=dim)
        return y if keepdim else y.squeeze(dim)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        index = self.indices if self.keepdim else xp.expand_dims(self.indices, self.dim)
        g = gy if self.keepdim else xp.expand_dims(gy, self.dim)
        positions = xp.arange(self.shape[self.dim]).reshape(
            [-1 if d == self.dim else 1 for d in range(len(self.shape))]
        )
        return (positions == index) * g


class MinDim(MaxDim):
    """y = min of x along ``dim`` (indices kept);  dy/dx = 1 at the first minimal element only."""

    pick = "argmin"


MaxMin = namedtuple("MaxMin", ["values", "indices"])


def max(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """``max(x)``: the largest element (ties share the gradient).
    ``max(x, dim)``: ``(values, indices)`` along ``dim``; the gradient goes to the indexed element.
    """
    if dim is None:
        return amax(x)
    d = dim_index(dim, x.ndim, "max")
    check_nonempty(x, (d,), "max")
    return MaxMin(MaxDim.apply(x, dim=d, keepdim=keepdim), argmax(x, d, keepdim))


def min(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """Like :func:`max`, for the smallest element."""
    if dim is None:
        return amin(x)
    d = dim_index(dim, x.ndim, "min")
    check_nonempty(x, (d,), "min")
    return MaxMin(MinDim.apply(x, dim=d, keepdim=keepdim), argmin(x, d, keepdim))


def _arg_index(x: Tensor, kind: str, dim: int | None, keepdim: bool) -> Any:
    check_nonempty(x, None if dim is None else (dim_index(dim, x.ndim, kind),), kind, IndexError)
    if dim is None:  # an index into the flattened tensor; keepdim keeps every axis, with size 1
        index = getattr(x.data, kind)()
        return index.reshape((1,) * x.ndim) if keepdim else index
    return getattr(x.data, kind)(axis=dim_index(dim, x.ndim, kind), keepdims=keepdim)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (flattened when ``dim`` is None); int64, no gradient."""
    return from_array(_arg_index(x, "argmax", dim, keepdim).astype(backend.int64))


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return from_array(_arg_index(x, "argmin", dim, keepdim).astype(backend.int64))
