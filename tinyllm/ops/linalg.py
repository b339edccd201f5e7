"""Matrix multiplication, batched and broadcast like ``numpy.matmul`` / ``torch.matmul``; its strict
forms (mm, bmm, dot, outer); triangles (tril, triu) and diagonals (diag)."""

from __future__ import annotations

import math
from typing import Any

from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops.arguments import operands, promote
from tinyllm.ops.copy import to_dtype
from tinyllm.ops.elementwise import unbroadcast
from tinyllm.tensor import Tensor


class MatMul(Function):
    """Y = A @ B over the last two axes (leading axes broadcast);
    dA = dY @ B^T,  dB = A^T @ dY  (each summed over broadcast batch axes).

    A 1-D operand is a row vector on the left or a column vector on the right, as
    in NumPy; backward treats it as that matrix and drops the added axis again.
    """

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # BEGIN SOLUTION task=matmul
        a, b = self.a, self.b
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        if a.ndim == 1:
            gy = gy[..., None, :] if b.ndim > 1 else gy[..., None]
        if b.ndim == 1:
            gy = gy[..., None]
        ga = gb = None
        if self.needs_grad(0):
            ga = unbroadcast(gy @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if self.needs_grad(1):
            gb = unbroadcast(a2.swapaxes(-1, -2) @ gy, b2.shape).reshape(b.shape)
        return ga, gb
        # END SOLUTION


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product over the last two axes; leading (batch) axes broadcast."""
    a, b = operands(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align ({k_a} != {k_b})")
    try:
        return MatMul.apply(a, b)
    except ValueError as error:
        raise ValueError(f"matmul: batch axes of shapes {a.shape} and {b.shape} do not broadcast") from error


class Linear(Function):
    """Y = X W^T + b, the affine map of a fully connected layer, X: (..., in), W: (out, in), b: (out,);
    dX = dY W,  dW = dY^T X,  db = sum of dY over every axis but the last.

    One node instead of transpose, matmul and add: leading axes are folded into
    one, so each gradient is a single matrix product.
    """

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        self.x, self.w = x, w
        # one (N, in) @ (in, out) product: a stack of small products, as broadcasting
        # matmul over leading axes would run, is several times slower. N is spelled out:
        # reshape cannot infer -1 when in or out is 0
        self.n = math.prod(x.shape[:-1])
        flat = x.ndim == 2  # (N, in) already: no reshapes
        y = (x if flat else x.reshape(self.n, x.shape[-1])) @ w.T
        if b is not None:
            y += b
        return y if flat else y.reshape(*x.shape[:-1], w.shape[0])

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # BEGIN SOLUTION task=matmul
        x, w = self.x, self.w
        g2 = gy.reshape(self.n, gy.shape[-1])
        gx = (g2 @ w).reshape(x.shape) if self.needs_grad(0) else None
        gw = g2.T @ x.reshape(self.n, x.shape[-1]) if self.needs_grad(1) else None
        if len(self.inputs) == 2:  # type: ignore[arg-type]
            return gx, gw
        gb = g2.sum(axis=0) if self.needs_grad(2) else None
        return gx, gw, gb
        # END SOLUTION


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight^T + bias: x (..., in), weight (out, in), bias (out,) -> (..., out)."""
    x_shape, w_shape = x.data.shape, weight.data.shape
    if len(w_shape) != 2 or not x_shape or x_shape[-1] != w_shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} needs a last dim equal to the weight's in_features, "
            f"but the weight has shape {weight.shape} (out_features, in_features)"
        )
    if bias is not None and bias.data.shape != w_shape[:1]:
        raise ValueError(f"linear: bias of shape {bias.shape} should have shape ({weight.shape[0]},)")
    x, weight = promote(x, weight)
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, to_dtype(bias, weight.dtype))


# ----------------------------------------------------------------------------- the strict products


def _same_dtype(a: Tensor, b: Tensor, op: str) -> None:
    """mm, bmm and dot take no mixed dtypes, as in PyTorch (matmul promotes in tinyllm)."""
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: expected both operands to have the same dtype, got {a.dtype} and {b.dtype}")


def mm(a: Tensor, b: Tensor) -> Tensor:
    """The product of two matrices, (n, k) @ (k, m) -> (n, m); no broadcasting, unlike matmul."""
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: both operands must be 2-D matrices, got shapes {a.shape} and {b.shape}")
    _same_dtype(a, b, "mm")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """A batch of matrix products, (B, n, k) @ (B, k, m) -> (B, n, m); the batch sizes must be equal."""
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(f"bmm: both operands must be 3-D batches of matrices, got shapes {a.shape} and {b.shape}")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: shapes {a.shape} and {b.shape}")
    _same_dtype(a, b, "bmm")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    """sum_i a_i b_i for two 1-D tensors of the same length (a 0-d result)."""
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: both operands must be 1-D, got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"dot: the vectors have different lengths, {a.shape[0]} and {b.shape[0]}")
    _same_dtype(a, b, "dot")
    return matmul(a, b)


def outer(a: Tensor, b: Tensor) -> Tensor:
    """y[i, j] = a_i b_j for 1-D ``a`` and ``b`` (a broadcast product, so autograd derives it)."""
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: both operands must be 1-D, got shapes {a.shape} and {b.shape}")
    return a.reshape(-1, 1) * b


# ----------------------------------------------------------------------------- triangles and diagonals


class Triangle(Function):
    """y = x where ``keep`` (the triangle, over the last two dims) else 0;  dx = dy * keep."""

    def forward(self, x: Any, diagonal: int, upper: bool) -> Any:
        xp = get_array_module(x)
        n, m = x.shape[-2:]
        lower = xp.tri(n, m, diagonal - 1 if upper else diagonal, dtype=bool)
        self.keep = ~lower if upper else lower
        return xp.where(self.keep, x, x.dtype.type(0))

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).where(self.keep, gy, gy.dtype.type(0))


def _triangle(x: Tensor, diagonal: int, upper: bool, op: str) -> Tensor:
    if x.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dimensions, got shape {x.shape}")
    return Triangle.apply(x, diagonal=diagonal, upper=upper)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (x[i, j] for j - i <= diagonal), zeros above it."""
    return _triangle(input, diagonal, False, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (x[i, j] for j - i >= diagonal), zeros below it."""
    return _triangle(input, diagonal, True, "triu")


class DiagEmbed(Function):
    """Y = the square matrix with vector x on diagonal k (k > 0 above the main one), zeros
    elsewhere;  dx = the diagonal k of dY."""

    def forward(self, x: Any, k: int) -> Any:
        self.k = k
        return get_array_module(x).diag(x, k)

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).diagonal(gy, self.k).copy()


class Diagonal(Function):
    """y = diagonal k of matrix X;  dX = zeros with dy on that diagonal."""

    def forward(self, x: Any, k: int) -> Any:
        self.shape, self.k = x.shape, k
        return get_array_module(x).diagonal(x, k).copy()

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        rows = xp.arange(gy.shape[0]) + max(-self.k, 0)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        gx[rows, rows + self.k] = gy
        return gx


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor becomes a square matrix with it on diagonal ``diagonal``; a 2-D tensor
    gives that diagonal as a 1-D tensor (``diagonal`` > 0 above the main one, < 0 below)."""
    if input.ndim == 1:
        return DiagEmbed.apply(input, k=diagonal)
    if input.ndim == 2:
        return Diagonal.apply(input, k=diagonal)
    raise ValueError(f"diag: input must be 1-D or 2-D, got shape {input.shape}")
