"""Running totals along one dim: cumsum and cumprod.

y_j = x_0 + ... + x_j reads x_i into every y_j with j >= i, so the gradient of x_i
adds up g_j over j >= i: a cumulative sum run backwards (:func:`reverse_cumsum`).
Products do the same with each term's rate of change, the product of the others.
"""

from __future__ import annotations

from typing import Any

from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops.arguments import dim_index
from tinyllm.tensor import Tensor


def reverse_cumsum(a: Any, axis: int) -> Any:
    """out_i = sum of a_j over j >= i along ``axis``: cumsum from the far end."""
    xp = get_array_module(a)
    return xp.flip(xp.flip(a, axis).cumsum(axis=axis), axis)


def scan_axis(x: Tensor, dim: int, op: str) -> int:
    """The axis of a running op; a 0-d tensor is scanned as one element (dim 0 or -1), as in PyTorch."""
    return dim_index(dim, max(x.ndim, 1), op)


def as_vector(a: Any) -> Any:
    """A 0-d array as one element of a 1-d one (running ops need an axis); others as they are."""
    return a.reshape(1) if a.ndim == 0 else a


class Cumsum(Function):
    """y_j = sum of x_i over i <= j along ``axis``;  dx_i = sum of dy_j over j >= i."""

    def forward(self, x: Any, axis: int) -> Any:
        self.axis, self.shape = axis, x.shape
        return as_vector(x).cumsum(axis=axis).reshape(x.shape)

    def backward(self, gy: Any) -> Any:
        return reverse_cumsum(as_vector(gy), self.axis).reshape(self.shape)


def cumsum(x: Tensor, dim: int) -> Tensor:
    """Running sums along ``dim``; integer and bool tensors sum to int64, as in PyTorch."""
    return Cumsum.apply(x, axis=scan_axis(x, dim, "cumsum"))


class Cumprod(Function):
    """y_j = product of x_i over i <= j along ``axis``;
    dx_i = sum over j >= i of dy_j * (product of x_k over k <= j, k != i).

    Without zeros the product of the others is y_j / x_i, so dx_i = reverse_cumsum(dy * y)_i / x_i.
    With a zero in the slice, at position z first, the division is avoided, and the
    gradient is exact (as PyTorch's is):

    - before z the formula holds (x_i is nonzero there, and y_j = 0 for j >= z);
    - at z it is reverse_cumsum(dy * y')_z, with y' the running product with x_z set to 1;
    - after z every product of the others holds x_z = 0, so the gradient is 0.
    """

    def forward(self, x: Any, axis: int) -> Any:
        self.x, self.axis, self.shape = as_vector(x), axis, x.shape
        self.y = self.x.cumprod(axis=axis)
        return self.y.reshape(x.shape)

    def backward(self, gy: Any) -> Any:
        x, y, axis = self.x, self.y, self.axis
        xp = get_array_module(x)
        gy = gy.reshape(x.shape)
        zero = x == 0
        zeros_so_far = zero.cumsum(axis=axis)
        before = zeros_so_far == 0
        first = zero & (zeros_so_far == 1)
        g_before = reverse_cumsum(gy * y, axis) / xp.where(before, x, 1)
        g_first = reverse_cumsum(gy * xp.where(first, 1, x).cumprod(axis=axis), axis)
        gx = xp.where(before, g_before, xp.where(first, g_first, 0))
        return gx.reshape(self.shape)


def cumprod(x: Tensor, dim: int) -> Tensor:
    """Running products along ``dim``; the gradient is exact also where elements are zero."""
    return Cumprod.apply(x, axis=scan_axis(x, dim, "cumprod"))
