"""Shape ops: reshape, permute, expand, cat, stack, and indexing.

None of these computes anything new; each moves elements around. So each
backward moves the gradient back the same way: reshape it back, permute it by
the inverse permutation, sum it over expanded axes, cut it into the pieces that
were joined, or scatter it into the positions that were read.
"""

from __future__ import annotations

from typing import Any

from tinyllm.backend import get_array_module
from tinyllm.ops.elementwise import unbroadcast
from tinyllm.ops.scatter import scatter_add
from tinyllm.tensor import Function


class Reshape(Function):
    """y = x with a new shape (same elements, same order);  dx = dy reshaped back."""

    shares_memory = True

    def forward(self, x: Any, shape: tuple[int, ...]) -> Any:
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, gy: Any) -> Any:
        return gy.reshape(self.shape)


class Permute(Function):
    """y = x with its axes reordered: y.shape[i] = x.shape[dims[i]];  dx = dy permuted back."""

    shares_memory = True

    def forward(self, x: Any, dims: tuple[int, ...]) -> Any:
        self.dims = dims
        return x.transpose(dims)

    def backward(self, gy: Any) -> Any:
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return gy.transpose(inverse)


class Expand(Function):
    """y = x broadcast to a larger shape (no copy);  dx = dy summed over the stretched axes."""

    shares_memory = True

    def forward(self, x: Any, shape: tuple[int, ...]) -> Any:
        self.shape = x.shape
        return get_array_module(x).broadcast_to(x, shape)

    def backward(self, gy: Any) -> Any:
        return unbroadcast(gy, self.shape)


class Cat(Function):
    """y = the inputs joined along ``dim``;  each dx_k = the slice of dy where x_k went."""

    def forward(self, *xs: Any, dim: int) -> Any:
        self.dim = dim
        self.ends = []
        end = 0
        for x in xs:
            end += x.shape[dim]
            self.ends.append(end)
        return get_array_module(xs[0]).concatenate(xs, axis=dim)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        return tuple(get_array_module(gy).split(gy, self.ends[:-1], axis=self.dim))


class Stack(Function):
    """y = the inputs stacked along a new axis ``dim``;  dx_k = dy[..., k, ...] along that axis."""

    def forward(self, *xs: Any, dim: int) -> Any:
        self.dim = dim
        return get_array_module(xs[0]).stack(xs, axis=dim)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        return tuple(xp.moveaxis(gy, self.dim, 0))


class GetItem(Function):
    """y = x[index], with NumPy's (and PyTorch's) indexing rules;  dx = dy put back at index.

    With basic indexing (ints, slices, None, ...) or a bool mask each element of x is read at most
    once, so the gradient is written into place. With integer arrays an element may
    be read several times (``x[[0, 0]]``); then its gradients must add up, which a
    plain assignment would not do, so they are scatter-added.
    """

    shares_memory = True  # integer-array indexing copies; sharing the counter is then merely cautious

    def forward(self, x: Any, index: Any) -> Any:
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, gy: Any) -> Any:
        gx = get_array_module(gy).zeros(self.shape, dtype=self.dtype)
        if reads_each_element_once(self.index):
            gx[self.index] = gy
        else:
            scatter_add(gx, self.index, gy)
        return gx


def reads_each_element_once(index: Any) -> bool:
    """True for an index that reads no element twice: ints, slices, None, Ellipsis, bool masks."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(p, (int, slice)) or p is None or p is Ellipsis or getattr(p, "dtype", None) == bool
        for p in parts
    )
