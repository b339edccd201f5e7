"""Matrix multiplication, batched and broadcast like ``numpy.matmul`` / ``torch.matmul``."""

from __future__ import annotations

import math
from typing import Any

from tinyllm.autograd import Function
from tinyllm.ops.arguments import operands, promote
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
        y = x.reshape(self.n, x.shape[-1]) @ w.T
        if b is not None:
            y += b
        return y.reshape(*x.shape[:-1], w.shape[0])

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
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} needs a last dim equal to the weight's in_features, "
            f"but the weight has shape {weight.shape} (out_features, in_features)"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias of shape {bias.shape} should have shape ({weight.shape[0]},)")
    x, weight = promote(x, weight)
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias.to(weight.dtype))
