"""Putting elements in order: sort, argsort and topk.

The order itself (the indices) is a discrete choice with no gradient; the values
are the input read at those indices, a :func:`~tinyllm.ops.gather_scatter.gather`, so
autograd sends each value's gradient back to the element it came from.

Sorts here are stable: equal elements keep their order (PyTorch promises that only
with ``stable=True``, and its unstable sort may order ties differently).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from tinyllm import backend
from tinyllm.backend import get_array_module
from tinyllm.ops.arguments import dim_index
from tinyllm.ops.gather_scatter import as_1d, gather
from tinyllm.tensor import Tensor, from_array

Sorted = namedtuple("Sorted", ["values", "indices"])


def order(a: Any, axis: int, descending: bool) -> Any:
    """The int64 indices that sort array ``a`` along ``axis``, ties in their original order.

    Descending: sort the reversed array ascending, reverse that order and map it back,
    which puts the largest first and keeps ties in their original order (negating
    would not work for bool or unsigned arrays).
    """
    xp = get_array_module(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable").astype(backend.int64)
    n = a.shape[axis]
    backwards = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
    return (n - 1 - xp.flip(backwards, axis)).astype(backend.int64)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """The indices (int64) that sort ``input`` along ``dim``; no gradient. Always stable."""

    def apply(x: Tensor) -> Tensor:
        return from_array(order(x.data, dim_index(dim, x.ndim, "argsort"), descending))

    return as_1d(apply, input)


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
    """``(values, indices)``: ``input`` sorted along ``dim``, and where each value was.
    The gradient of the values goes back to the elements they came from. Always stable."""
    d = dim_index(dim, max(input.ndim, 1), "sort")
    indices = argsort(input, d, descending)
    return Sorted(as_1d(lambda x, i: gather(x, d, i), input, indices), indices)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along
    ``dim``, in order (``sorted=False`` gives them in that order too). The gradient of the
    values goes to the elements they came from."""
    d = dim_index(dim, max(input.ndim, 1), "topk")
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k = {k} is out of range for dim {d} of size {n}")
    indices = argsort(input, d, descending=largest)
    indices = indices if input.ndim == 0 else indices[(slice(None),) * d + (slice(0, k),)]
    return Sorted(as_1d(lambda x, i: gather(x, d, i), input, indices), indices)
